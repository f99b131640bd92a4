// `patchzoo entropy train|eval|compute|threshold|heatmap`: DPAR's entropy model (an unconditional LlamaGen)
// over a token file, its next-token entropies as an entropy file, the patcher threshold for a target mean
// patch length, and entropy maps over the VQ-decoded images. eval and compute also take a LlamaGen GPT converted by
// scripts/convert-llamagen: an unconditional one as it is, a c2i one through its CFG null class.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "patchzoo/backend/eigen/eigen_backend.hpp"
#include "patchzoo/backend/xtensor/xtensor_backend.hpp"
#include "patchzoo/dpar/entropy_file.hpp"
#include "patchzoo/dpar/llamagen_import.hpp"
#include "patchzoo/pipeline/entropy_maps.hpp"
#include "patchzoo/pipeline/entropy_step.hpp"
#include "patchzoo/util/progress.hpp"
#include "patchzoo/util/report.hpp"
#include "patchzoo/vq/vq_checkpoint.hpp"
#include "backend_choice.hpp"
#include "distributed.hpp"
#include "output_file.hpp"
#include "recipe_options.hpp"
#include "subcommands.hpp"

namespace {

using namespace patchzoo;
namespace fs = std::filesystem;

struct entropy_options {
  std::string backend = "eigen";
  bool json = false;
  std::string tokens, out, model, entropy, tokenizer;
  // train
  pipeline::train_recipe recipe;
  std::int64_t dim = 128, layers = 4, heads = 4, ffn = 0;
  bool resume = false;
  // eval / compute
  std::int64_t images = 0, eval_batch = 64;
  // threshold
  double target = 1.81;
  int max_patch = 4;
  bool no_row_reset = false;
  // heatmap
  std::int64_t count = 3;
};

// The first `images` of the file (0: all).
data::token_file load_tokens(const std::string& path, std::int64_t images) {
  auto f = data::read_token_file(path);
  if (images > 0 && images < f.count()) {
    f.tokens.resize(static_cast<std::size_t>(images * f.tokens_per_image()));
    f.labels.resize(static_cast<std::size_t>(images));
  }
  return f;
}

// Progress bar and start line of a training run, for the training hooks.
pipeline::training_hooks training_display(progress& bar, const data::token_file& data, const std::string& backend) {
  return {.on_start = [&bar, &data, backend](std::int64_t resumed, std::int64_t parameters) {
            std::cerr << "entropy train: " << parameters << " parameters, " << data.count() << " images of "
                      << data.grid_h << "x" << data.grid_w << " tokens over " << data.codebook_size << " codes, backend "
                      << backend;
            if (resumed > 0) std::cerr << ", resumed at step " << resumed;
            std::cerr << "\n";
            bar.update(resumed);
          },
          .on_step = [&bar](const dpar::train_step_log& s) {
            char extra[64];
            std::snprintf(extra, sizeof extra, "loss %.4f", s.loss);
            bar.update(s.step, extra);
          }};
}

template <class B>
void run_train(const entropy_options& o) {
  B be;
  const auto data = load_tokens(o.tokens, 0);
  progress bar("train", o.recipe.steps);
  auto recipe = o.recipe;
  recipe.comm = &cli::job_communicator();  // data-parallel under mpirun / srun
  const auto s = pipeline::train_entropy_model(be, data, {.dim = o.dim, .layers = o.layers, .heads = o.heads, .ffn = o.ffn},
                                               recipe, o.out, o.resume ? pipeline::existing_checkpoint::resume : pipeline::existing_checkpoint::refuse, training_display(bar, data, std::string(B::name)));
  bar.finish();
  report r;
  r["backend"] = std::string(B::name);
  const auto summary = s.json();
  for (const auto& [key, value] : summary.items()) r[key] = value;
  r.emit(o.json);
}

template <class B>
pipeline::entropy_pass run_model(B& be, dpar::llamagen_model<B, float>& model, const data::token_file& data,
                                 std::int64_t batch) {
  progress bar("entropy", data.count(), {.unit = "img"});
  auto pass = pipeline::compute_entropies(be, model, data, batch, [&](std::int64_t done) { bar.update(done); });
  bar.finish();
  return pass;
}

template <class B>
void run_eval(const entropy_options& o) {
  B be;
  const auto data = load_tokens(o.tokens, o.images);
  auto model = dpar::load_llamagen_or_import(be, o.model);
  const auto pass = run_model(be, *model, data, o.eval_batch);
  const auto st = pipeline::summarize_entropies(pass.entropies);
  report r;
  r["images"] = data.count();
  r["mean_nll_nats"] = pass.mean_nll;
  r["uniform_nats"] = std::log(static_cast<double>(model->config().vocab));
  r["mean_entropy_nats"] = st.mean;
  r["entropy_quantiles"] = {{"q10", st.q10}, {"q25", st.q25}, {"q50", st.q50}, {"q75", st.q75}, {"q90", st.q90}};
  r["seconds"] = pass.seconds;
  r["tokens_per_second"] = static_cast<double>(data.count() * model->config().slots()) / pass.seconds;
  r.emit(o.json);
}

template <class B>
void run_compute(const entropy_options& o) {
  B be;
  const auto data = load_tokens(o.tokens, 0);
  auto model = dpar::load_llamagen_or_import(be, o.model);
  const auto pass = run_model(be, *model, data, o.eval_batch);
  dpar::write_entropy_file(o.out, pass.entropies);
  report r;
  r["images"] = data.count();
  r["grid"] = std::to_string(data.grid_h) + "x" + std::to_string(data.grid_w);
  r["mean_nll_nats"] = pass.mean_nll;
  r["entropy_file"] = o.out;
  r["seconds"] = pass.seconds;
  r.emit(o.json);
}

void run_threshold(const entropy_options& o) {
  const auto e = dpar::read_entropy_file(o.entropy);
  const auto mode = o.no_row_reset ? dpar::patching_mode::entropy : dpar::patching_mode::entropy_row_boundary;
  const auto t = pipeline::threshold_for_mean_length(e, o.target, o.max_patch, mode);
  report r;
  r["images"] = e.count();
  r["mode"] = dpar::mode_name(t.patcher.mode);
  r["max_patch_length"] = o.max_patch;
  r["target_mean_length"] = o.target;
  r["theta"] = t.patcher.threshold;
  r["mean_patch_length"] = t.mean_length;
  r["mean_patches"] = t.mean_patches;
  r["token_reduction"] = t.token_reduction;  // global sequence: M = T / mean patches instead of T tokens
  r.emit(o.json);
}

template <class B>
void run_heatmap(const entropy_options& o) {
  B be;
  const auto data = patchzoo::data::read_token_file(o.tokens);
  const auto e = dpar::read_entropy_file(o.entropy);
  dpar::check_entropy_matches(e, data, o.entropy);
  auto tok = vq::load_tokenizer(be, o.tokenizer);
  const auto maps = pipeline::write_entropy_maps(be, *tok, data, e, o.count, o.out);
  report r;
  for (const auto& m : maps.maps)
    r["maps"].push_back({{"image", m.image}, {"label", m.label}, {"total_entropy", m.total_entropy}, {"png", m.png.string()}});
  r["scale_min"] = maps.scale_min;
  r["scale_max"] = maps.scale_max;
  r.emit(o.json);
}

void add_common(CLI::App* cmd, entropy_options& o) {
  add_backend_option(cmd, o.backend);
  cmd->add_flag("--json", o.json, "print one JSON object on stdout");
}

}  // namespace

void register_entropy(CLI::App& app) {
  auto o = std::make_shared<entropy_options>();
  auto* ent = app.add_subcommand("entropy", "DPAR's entropy model: train, evaluate, entropy files, threshold, maps");
  ent->require_subcommand(1);

  auto* train = ent->add_subcommand("train", "Train the unconditional entropy model on a token file");
  add_common(train, *o);
  train->add_option("--tokens", o->tokens, "token file (PZTOKENS)")->required()->check(CLI::ExistingFile);
  train->add_option("--out", o->out, "run directory: checkpoint.safetensors, loss.csv, loss.png")->required();
  add_recipe_options(train, o->recipe, "token, residual and FFN dropout");
  train->add_option("--dim", o->dim, "model width")->check(CLI::PositiveNumber);
  train->add_option("--layers", o->layers, "transformer blocks")->check(CLI::PositiveNumber);
  train->add_option("--heads", o->heads, "attention heads")->check(CLI::PositiveNumber);
  train->add_option("--ffn", o->ffn, "SwiGLU width (0: LlamaGen's round_up_256(8 dim / 3))")->check(CLI::NonNegativeNumber);
  train->add_flag("--resume", o->resume, "continue the checkpoint in --out");
  train->callback([o] { with_cpu_backend(o->backend, [&]<class B>() { run_train<B>(*o); }); });

  auto* eval = ent->add_subcommand("eval", "Mean NLL, next-token entropy statistics and speed on a token file");
  add_common(eval, *o);
  eval->add_option("--tokens", o->tokens, "token file")->required()->check(CLI::ExistingFile);
  eval->add_option("--model", o->model, "entropy model: a checkpoint of `entropy train` or a GPT converted by scripts/convert-llamagen")->required()->check(CLI::ExistingFile);
  eval->add_option("--images", o->images, "evaluate the first N images (0: all)")->check(CLI::NonNegativeNumber);
  eval->add_option("--batch", o->eval_batch, "images per forward pass")->check(CLI::PositiveNumber);
  eval->callback([o] { with_cpu_backend(o->backend, [&]<class B>() { run_eval<B>(*o); }); });

  auto* compute = ent->add_subcommand("compute", "Write the next-token entropies of a token file (PZENTROP)");
  add_common(compute, *o);
  compute->add_option("--tokens", o->tokens, "token file")->required()->check(CLI::ExistingFile);
  compute->add_option("--model", o->model, "entropy model: a checkpoint of `entropy train` or a GPT converted by scripts/convert-llamagen")->required()->check(CLI::ExistingFile);
  compute->add_option("--out", o->out, "entropy file to write")->required()->check(file_in_existing_directory);
  compute->add_option("--batch", o->eval_batch, "images per forward pass")->check(CLI::PositiveNumber);
  compute->callback([o] { with_cpu_backend(o->backend, [&]<class B>() { run_compute<B>(*o); }); });

  auto* threshold = ent->add_subcommand("threshold", "Patcher threshold theta for a target mean patch length");
  threshold->add_flag("--json", o->json, "print one JSON object on stdout");
  threshold->add_option("--entropy", o->entropy, "entropy file")->required()->check(CLI::ExistingFile);
  threshold->add_option("--target-mean-length", o->target, "mean patch length to reach (paper: 1.81)")
      ->check(CLI::Range(1.0, 1e6));
  threshold->add_option("--max-patch", o->max_patch, "P_max (0: no cap)")->check(CLI::NonNegativeNumber);
  threshold->add_flag("--no-row-reset", o->no_row_reset, "do not start a patch at every row start");
  threshold->callback([o] { run_threshold(*o); });

  auto* heatmap = ent->add_subcommand("heatmap", "Entropy maps over VQ-decoded images (low / medium / high total)");
  add_common(heatmap, *o);
  heatmap->add_option("--tokens", o->tokens, "token file")->required()->check(CLI::ExistingFile);
  heatmap->add_option("--entropy", o->entropy, "its entropy file")->required()->check(CLI::ExistingFile);
  heatmap->add_option("--tokenizer", o->tokenizer, "VQ tokenizer run directory")->required()->check(CLI::ExistingDirectory);
  heatmap->add_option("--out", o->out, "directory for the PNG maps")->required();
  heatmap->add_option("--count", o->count, "number of maps, spread over the ranks of total entropy")
      ->check(CLI::PositiveNumber);
  heatmap->callback([o] { with_cpu_backend(o->backend, [&]<class B>() { run_heatmap<B>(*o); }); });
}
