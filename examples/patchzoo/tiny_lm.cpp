// `patchzoo tiny-lm`: trains the tiny LLaMA-style transformer on a synthetic Markov token source and
// prints its loss curve beside the source's entropy rate, the lowest loss any model can reach.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "patchzoo/backend/eigen/eigen_backend.hpp"
#include "patchzoo/backend/xtensor/xtensor_backend.hpp"
#include "patchzoo/data/markov_tokens.hpp"
#include "patchzoo/image/plot.hpp"
#include "patchzoo/nn/transformer.hpp"
#include "patchzoo/train/adamw.hpp"
#include "patchzoo/train/lr_schedule.hpp"
#include "patchzoo/util/progress.hpp"
#include "patchzoo/util/report.hpp"
#include "subcommands.hpp"

namespace {

using namespace patchzoo;

struct tiny_lm_options {
  std::string backend = "eigen";
  int steps = 300;
  int batch = 16;
  int seq = 128;
  int vocab = 256;
  int dim = 128;
  int layers = 4;
  int heads = 4;
  double lr = 3e-3;
  std::uint64_t seed = 1;
  std::string csv;
  std::string plot;
  bool json = false;
};

// A text chart of the curve: one row per band of loss values, one column per group of steps.
std::string ascii_curve(const std::vector<double>& losses, double floor, int width = 60, int height = 12) {
  const double hi = *std::max_element(losses.begin(), losses.end());
  const double lo = std::min(floor, *std::min_element(losses.begin(), losses.end()));
  std::vector<std::string> rows(height, std::string(width, ' '));
  auto row_of = [&](double v) { return std::clamp(static_cast<int>((hi - v) / (hi - lo) * (height - 1) + 0.5), 0, height - 1); };
  for (int c = 0; c < width; ++c) rows[row_of(floor)][c] = '-';
  for (int c = 0; c < width; ++c) {
    const std::size_t i = std::min(losses.size() - 1, c * losses.size() / width);
    rows[row_of(losses[i])][c] = '*';
  }
  std::string out;
  char label[32];
  for (int r = 0; r < height; ++r) {
    std::snprintf(label, sizeof label, "%7.3f |", hi - (hi - lo) * r / (height - 1));
    out += label + rows[r] + "\n";
  }
  out += "        +" + std::string(width, '-') + "\n";
  std::snprintf(label, sizeof label, "%d", static_cast<int>(losses.size()));
  out += "         step 1" + std::string(width - 7 - std::string(label).size(), ' ') + label + "\n";
  return out;
}

template <class B>
void run_tiny_lm(const tiny_lm_options& o) {
  B be;
  nn::transformer_config cfg;
  cfg.vocab = o.vocab;
  cfg.layers = o.layers;
  cfg.max_seq = o.seq;
  cfg.block = {.dim = o.dim, .heads = o.heads, .ffn_hidden = 3 * o.dim, .norm_eps = 1e-5f};
  nn::transformer<B, float> model(cfg, o.seed);
  training::adamw_optimizer<B, float> opt(model.layout(),
                                          {.beta1 = 0.9, .beta2 = 0.95, .eps = 1e-8, .weight_decay = 0.05});
  const auto schedule = training::lr_schedule::warmup_cosine(o.lr, o.steps / 10, o.steps, o.lr / 10);
  const data::markov_tokens source(o.vocab, 4, o.seed + 1);
  const double floor = source.entropy_rate();
  rng_stream data_rng(o.seed + 2);

  std::cerr << "tiny-lm: " << model.layout().total() << " parameters, " << o.batch << " x " << o.seq
            << " tokens per step, backend " << B::name << ", entropy-rate floor " << floor << " nats\n";
  std::vector<double> losses;
  progress bar("train", o.steps);
  const auto start = std::chrono::steady_clock::now();
  for (int step = 0; step < o.steps; ++step) {
    const auto batch = source.batch(o.batch, o.seq, data_rng);
    model.grads().zero();
    losses.push_back(model.forward(be, batch));
    model.backward(be);
    training::clip_grad_norm(be, model.grads(), 1.0);
    opt.step(be, model.params(), model.grads(), schedule.at(step));
    char extra[32];
    std::snprintf(extra, sizeof extra, "loss %.4f", losses.back());
    bar.update(step + 1, extra);
  }
  bar.finish();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  if (!o.csv.empty()) {
    std::ofstream csv(o.csv);
    check(static_cast<bool>(csv), "tiny-lm", "cannot write the loss log ", o.csv);
    csv << "step,loss,lr\n";
    for (int s = 0; s < o.steps; ++s) csv << s + 1 << "," << losses[s] << "," << schedule.at(s) << "\n";
  }
  if (!o.plot.empty()) {
    image::line_plot plot{"tiny-lm training loss (" + std::string(B::name) + " backend)", "step", "loss (nats)", {}};
    image::plot_series loss{"training loss", {}, losses}, floor_line{"entropy-rate floor", {1.0, double(o.steps)}, {floor, floor}};
    for (int s = 0; s < o.steps; ++s) loss.x.push_back(s + 1);
    plot.series = {loss, floor_line};
    image::write_plot_png(o.plot, plot);
  }
  if (!o.json) std::cout << "loss curve (* = training loss, - = entropy-rate floor):\n" << ascii_curve(losses, floor);

  report r;
  r["backend"] = std::string(B::name);
  r["parameters"] = model.layout().total();
  r["steps"] = o.steps;
  r["tokens_per_step"] = o.batch * o.seq;
  r["first_loss"] = losses.front();
  r["final_loss"] = losses.back();
  r["entropy_rate_floor"] = floor;
  r["seconds"] = seconds;
  r["tokens_per_second"] = static_cast<double>(o.steps) * o.batch * o.seq / seconds;
  r.emit(o.json);
}

}  // namespace

void register_tiny_lm(CLI::App& app) {
  auto opts = std::make_shared<tiny_lm_options>();
  auto* cmd = app.add_subcommand("tiny-lm", "Train a tiny transformer on a synthetic Markov source; print its loss curve");
  cmd->add_option("--backend", opts->backend, "eigen (fast) or xtensor (reference)")
      ->check(CLI::IsMember({"eigen", "xtensor"}));
  cmd->add_option("--steps", opts->steps, "training steps")->check(CLI::PositiveNumber);
  cmd->add_option("--batch", opts->batch, "sequences per step")->check(CLI::PositiveNumber);
  cmd->add_option("--seq", opts->seq, "tokens per sequence")->check(CLI::Range(2, 4096));
  cmd->add_option("--vocab", opts->vocab, "vocabulary size")->check(CLI::Range(2, 1 << 16));
  cmd->add_option("--dim", opts->dim, "model width")->check(CLI::PositiveNumber);
  cmd->add_option("--layers", opts->layers, "transformer blocks")->check(CLI::PositiveNumber);
  cmd->add_option("--heads", opts->heads, "attention heads")->check(CLI::PositiveNumber);
  cmd->add_option("--lr", opts->lr, "peak learning rate (warmup + cosine)")->check(CLI::PositiveNumber);
  cmd->add_option("--seed", opts->seed, "seed for weights and data");
  cmd->add_option("--csv", opts->csv, "write step,loss,lr to this CSV file");
  cmd->add_option("--plot", opts->plot, "write the loss curve as a PNG to this file");
  cmd->add_flag("--json", opts->json, "print one JSON object of final metrics on stdout");
  cmd->callback([opts] {
    if (opts->backend == "xtensor") run_tiny_lm<xtensor_backend>(*opts);
    else run_tiny_lm<eigen_backend>(*opts);
  });
}
