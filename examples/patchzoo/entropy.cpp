// `patchzoo entropy train|eval|compute|threshold|heatmap`: DPAR's entropy model (an unconditional LlamaGen)
// over a token file, its next-token entropies as an entropy file, the patcher threshold for a target mean
// patch length, and entropy maps over the VQ-decoded images.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "patchzoo/backend/eigen/eigen_backend.hpp"
#include "patchzoo/backend/xtensor/xtensor_backend.hpp"
#include "patchzoo/dpar/entropy_file.hpp"
#include "patchzoo/dpar/model_checkpoint.hpp"
#include "patchzoo/dpar/trainer.hpp"
#include "patchzoo/image/heatmap.hpp"
#include "patchzoo/image/png.hpp"
#include "patchzoo/util/progress.hpp"
#include "patchzoo/util/report.hpp"
#include "patchzoo/vq/vq_checkpoint.hpp"
#include "backend_choice.hpp"
#include "subcommands.hpp"

namespace {

using namespace patchzoo;
namespace fs = std::filesystem;

struct entropy_options {
  std::string backend = "eigen";
  bool json = false;
  std::string tokens, out, model, entropy, tokenizer;
  // train
  std::int64_t steps = 2000, batch = 32, dim = 128, layers = 4, heads = 4, ffn = 0, warmup = 0, checkpoint_every = 500;
  double lr = 1e-3, dropout = 0.1;
  bool cosine = false, resume = false;
  std::uint64_t seed = 0;
  // eval / compute
  std::int64_t images = 0, eval_batch = 64;
  // threshold
  double target = 1.81;
  int max_patch = 4;
  bool no_row_reset = false;
  // heatmap
  std::int64_t count = 3;
};

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// The first `images` of the file (0: all).
vq::token_file load_tokens(const std::string& path, std::int64_t images) {
  auto f = vq::read_token_file(path);
  if (images > 0 && images < f.count()) {
    f.tokens.resize(static_cast<std::size_t>(images * f.tokens_per_image()));
    f.labels.resize(static_cast<std::size_t>(images));
  }
  return f;
}

dpar::token_grid_batch grid_batch(const vq::token_file& f, std::int64_t begin, std::int64_t end) {
  dpar::token_grid_batch g{f.tokens_per_image(), f.grid_w, {}, {}};
  g.tokens.assign(f.image(begin), f.image(end));
  return g;
}

template <class B>
void run_train(const entropy_options& o) {
  B be;
  const auto data = load_tokens(o.tokens, 0);
  dpar::llamagen_config c;
  c.conditional = false;
  c.vocab = data.codebook_size;
  c.classes = 1;  // unused by the unconditional model
  c.tokens = data.tokens_per_image();
  c.row_width = data.grid_w;
  c.layers = o.layers;
  c.block = {.dim = o.dim, .heads = o.heads, .ffn_hidden = o.ffn > 0 ? o.ffn : dpar::round_up_256_ffn(o.dim),
             .norm_eps = 1e-5f};
  c.token_dropout = c.label_dropout = c.block_dropout = static_cast<float>(o.dropout);
  const fs::path out(o.out);
  check(o.resume || !fs::exists(dpar::trainer_checkpoint_path(out)), "entropy train", out.string(),
        " already holds a checkpoint: pass --resume to continue it or choose another --out");
  dpar::llamagen_model<B, float> model(c, o.seed);
  dpar::train_config t{.steps = o.steps, .batch = o.batch, .lr = o.lr, .warmup = o.warmup, .cosine = o.cosine,
                       .min_lr = 0.1 * o.lr, .clip = 1.0, .weight_decay = 0.05,
                       .checkpoint_every = o.checkpoint_every, .seed = o.seed, .out_dir = out};
  dpar::trainer<B, dpar::llamagen_model<B, float>> trainer(model, data, t);
  const std::int64_t resumed = trainer.resume(be);
  std::cerr << "entropy train: " << model.layout().total() << " parameters, " << data.count() << " images of "
            << data.grid_h << "x" << data.grid_w << " tokens over " << data.codebook_size << " codes, backend "
            << B::name;
  if (resumed > 0) std::cerr << ", resumed at step " << resumed;
  std::cerr << "\n";
  progress bar("train", o.steps);
  bar.update(resumed);
  trainer.run(be, [&](const dpar::train_step_log& s) {
    char extra[64];
    std::snprintf(extra, sizeof extra, "loss %.4f", s.loss);
    bar.update(s.step, extra);
  });
  bar.finish();
  const auto& h = trainer.history();
  const std::int64_t tail = std::min<std::int64_t>(50, static_cast<std::int64_t>(h.size()));
  double tail_loss = 0;
  for (std::int64_t i = 0; i < tail; ++i) tail_loss += h[h.size() - 1 - static_cast<std::size_t>(i)].loss / static_cast<double>(tail);
  report r;
  r["backend"] = std::string(B::name);
  r["parameters"] = model.layout().total();
  r["steps"] = trainer.step();
  r["resumed_at"] = resumed;
  r["batch"] = o.batch;
  r["images"] = data.count();
  r["final_loss"] = h.back().loss;
  r["mean_loss_last_50"] = tail_loss;
  r["seconds"] = h.back().seconds;
  r["train_flops"] = h.back().flops;
  r["checkpoint"] = dpar::trainer_checkpoint_path(out).string();
  r["loss_csv"] = (out / "loss.csv").string();
  r["loss_png"] = (out / "loss.png").string();
  r.emit(o.json);
}

// Mean NLL and next-token entropies of every image, batch by batch; entropy rows hold H_t at column t.
struct entropy_pass {
  double nll = 0;
  std::vector<float> entropies;  // images x T, column 0 = 0
  double seconds = 0;
};

template <class B>
entropy_pass run_model(B& be, dpar::llamagen_model<B, float>& model, const vq::token_file& data,
                          std::int64_t batch) {
  const auto& c = model.config();
  check(!c.conditional, "entropy", "the checkpoint holds a conditional model; the entropy model is unconditional");
  check(c.tokens == data.tokens_per_image() && c.row_width == data.grid_w && c.vocab >= data.codebook_size, "entropy",
        "the model (", c.tokens, " tokens in rows of ", c.row_width, ", vocab ", c.vocab, ") does not fit the ",
        data.grid_h, "x", data.grid_w, " token file over ", data.codebook_size, " codes");
  entropy_pass out;
  out.entropies.assign(static_cast<std::size_t>(data.count() * c.tokens), 0.0f);
  progress bar("entropy", data.count(), {.unit = "img"});
  const auto start = std::chrono::steady_clock::now();
  for (std::int64_t begin = 0; begin < data.count(); begin += batch) {
    const std::int64_t end = std::min(data.count(), begin + batch);
    out.nll += model.forward(be, grid_batch(data, begin, end)) * static_cast<double>(end - begin);
    const auto lg = model.logits(be);
    for (std::int64_t i = begin; i < end; ++i)
      dpar::next_token_entropy(lg.data() + (i - begin) * c.slots() * c.vocab, c.slots(), c.vocab,
                               out.entropies.data() + i * c.tokens + 1, false);
    bar.update(end);
  }
  bar.finish();
  out.seconds = seconds_since(start);
  out.nll /= static_cast<double>(data.count());
  return out;
}

double quantile(std::vector<float> v, double q) {
  const auto k = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

template <class B>
void run_eval(const entropy_options& o) {
  B be;
  const auto data = load_tokens(o.tokens, o.images);
  auto model = dpar::load_llamagen(be, o.model);
  const auto pass = run_model(be, *model, data, o.eval_batch);
  std::vector<float> h;
  const std::int64_t t = data.tokens_per_image();
  for (std::int64_t i = 0; i < data.count(); ++i)
    h.insert(h.end(), pass.entropies.begin() + i * t + 1, pass.entropies.begin() + (i + 1) * t);
  report r;
  r["images"] = data.count();
  r["mean_nll_nats"] = pass.nll;
  r["uniform_nats"] = std::log(static_cast<double>(model->config().vocab));
  r["mean_entropy_nats"] = std::accumulate(h.begin(), h.end(), 0.0) / static_cast<double>(h.size());
  for (const double q : {0.1, 0.25, 0.5, 0.75, 0.9}) {
    char key[32];
    std::snprintf(key, sizeof key, "q%02d", static_cast<int>(q * 100 + 0.5));
    r["entropy_quantiles"][key] = quantile(h, q);
  }
  r["seconds"] = pass.seconds;
  r["tokens_per_second"] = static_cast<double>(data.count() * model->config().slots()) / pass.seconds;
  r.emit(o.json);
}

template <class B>
void run_compute(const entropy_options& o) {
  B be;
  const auto data = load_tokens(o.tokens, 0);
  auto model = dpar::load_llamagen(be, o.model);
  const auto pass = run_model(be, *model, data, o.eval_batch);
  dpar::write_entropy_file(o.out, {data.grid_h, data.grid_w, pass.entropies});
  report r;
  r["images"] = data.count();
  r["grid"] = std::to_string(data.grid_h) + "x" + std::to_string(data.grid_w);
  r["mean_nll_nats"] = pass.nll;
  r["entropy_file"] = o.out;
  r["seconds"] = pass.seconds;
  r.emit(o.json);
}

void run_threshold(const entropy_options& o) {
  const auto e = dpar::read_entropy_file(o.entropy);
  std::vector<std::vector<float>> rows;
  for (std::int64_t i = 0; i < e.count(); ++i) rows.emplace_back(e.image(i).begin(), e.image(i).end());
  dpar::patcher_config pc;
  pc.mode = o.no_row_reset ? dpar::patching_mode::entropy : dpar::patching_mode::entropy_row_boundary;
  pc.max_patch_length = o.max_patch;
  pc.row_width = static_cast<int>(e.grid_w);
  pc.threshold = dpar::find_threshold(pc, rows, e.tokens_per_image(), o.target);
  const double mean = dpar::mean_patch_length(pc, rows, e.tokens_per_image());
  const double tokens = static_cast<double>(e.tokens_per_image());
  report r;
  r["images"] = e.count();
  r["mode"] = dpar::mode_name(pc.mode);
  r["max_patch_length"] = o.max_patch;
  r["target_mean_length"] = o.target;
  r["theta"] = pc.threshold;
  r["mean_patch_length"] = mean;
  r["mean_patches"] = tokens / mean;
  r["token_reduction"] = 1.0 - 1.0 / mean;  // global sequence: M = T / mean patches instead of T tokens
  r.emit(o.json);
}

// Entropy maps of low / medium / high total-entropy images (evenly spaced ranks of the total), over the
// images the tokenizer decodes from the tokens.
template <class B>
void run_heatmap(const entropy_options& o) {
  B be;
  const auto data = vq::read_token_file(o.tokens);
  const auto e = dpar::read_entropy_file(o.entropy);
  dpar::check_entropy_matches(e, data, o.entropy);
  auto tok = vq::load_tokenizer(be, o.tokenizer);
  const std::int64_t t = data.tokens_per_image();
  std::vector<double> total(static_cast<std::size_t>(e.count()));
  for (std::int64_t i = 0; i < e.count(); ++i) {
    const auto row = e.image(i);
    total[static_cast<std::size_t>(i)] = std::accumulate(row.begin() + 1, row.end(), 0.0);
  }
  std::vector<std::int64_t> order(total.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
    return total[static_cast<std::size_t>(a)] < total[static_cast<std::size_t>(b)];
  });
  const std::int64_t count = std::min(o.count, e.count());
  fs::create_directories(o.out);
  report r;
  float lo = 1e30f, hi = 0;  // one colour scale for every map, so they compare
  for (std::int64_t i = 0; i < e.count(); ++i)
    for (std::int64_t j = 1; j < t; ++j) lo = std::min(lo, e.image(i)[static_cast<std::size_t>(j)]), hi = std::max(hi, e.image(i)[static_cast<std::size_t>(j)]);
  for (std::int64_t k = 0; k < count; ++k) {
    const std::int64_t rank = count == 1 ? 0 : k * (e.count() - 1) / (count - 1);
    const std::int64_t i = order[static_cast<std::size_t>(rank)];
    tensor<std::int32_t> codes(shape_t{1, data.grid_h, data.grid_w});
    for (std::int64_t j = 0; j < t; ++j) codes[j] = data.image(i)[j];
    const auto img = tok->decode(be, codes);
    std::vector<float> values(e.image(i).begin(), e.image(i).end());
    values[0] = lo;  // H_0 is never predicted
    image::heatmap_options h;
    h.pixel_scale = std::max<std::int64_t>(1, 256 / img.dim(3));
    h.vmin = lo;
    h.vmax = hi;
    char title[96];
    std::snprintf(title, sizeof title, "image %lld label %d total H %.0f nats", static_cast<long long>(i),
                  static_cast<int>(data.labels[static_cast<std::size_t>(i)]), total[static_cast<std::size_t>(i)]);
    h.title = title;
    const image::grey_underlay under{img.data(), img.dim(2), img.dim(3), -1.0, 1.0};
    const fs::path path = fs::path(o.out) / ("entropy_" + std::to_string(k) + "_image" + std::to_string(i) + ".png");
    image::write_png(path, image::render_heatmap(values.data(), data.grid_h, data.grid_w, h, under));
    r["maps"].push_back({{"image", i}, {"label", data.labels[static_cast<std::size_t>(i)]},
                         {"total_entropy", total[static_cast<std::size_t>(i)]}, {"png", path.string()}});
  }
  r["scale_min"] = lo;
  r["scale_max"] = hi;
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
  train->add_option("--steps", o->steps, "total training steps")->check(CLI::PositiveNumber);
  train->add_option("--batch", o->batch, "images per step")->check(CLI::PositiveNumber);
  train->add_option("--lr", o->lr, "learning rate (constant unless --cosine)")->check(CLI::PositiveNumber);
  train->add_option("--warmup", o->warmup, "linear warmup steps")->check(CLI::NonNegativeNumber);
  train->add_flag("--cosine", o->cosine, "cosine decay to 10% of --lr after the warmup");
  train->add_option("--dim", o->dim, "model width")->check(CLI::PositiveNumber);
  train->add_option("--layers", o->layers, "transformer blocks")->check(CLI::PositiveNumber);
  train->add_option("--heads", o->heads, "attention heads")->check(CLI::PositiveNumber);
  train->add_option("--ffn", o->ffn, "SwiGLU width (0: LlamaGen's round_up_256(8 dim / 3))")->check(CLI::NonNegativeNumber);
  train->add_option("--dropout", o->dropout, "token, residual and FFN dropout")->check(CLI::Range(0.0, 0.9));
  train->add_option("--checkpoint-every", o->checkpoint_every, "steps between checkpoints (0: only at the end)")
      ->check(CLI::NonNegativeNumber);
  train->add_option("--seed", o->seed, "seed for weights, data order and dropout");
  train->add_flag("--resume", o->resume, "continue the checkpoint in --out");
  train->callback([o] { with_cpu_backend(o->backend, [&]<class B>() { run_train<B>(*o); }); });

  auto* eval = ent->add_subcommand("eval", "Mean NLL, next-token entropy statistics and speed on a token file");
  add_common(eval, *o);
  eval->add_option("--tokens", o->tokens, "token file")->required()->check(CLI::ExistingFile);
  eval->add_option("--model", o->model, "entropy model checkpoint")->required()->check(CLI::ExistingFile);
  eval->add_option("--images", o->images, "evaluate the first N images (0: all)")->check(CLI::NonNegativeNumber);
  eval->add_option("--batch", o->eval_batch, "images per forward pass")->check(CLI::PositiveNumber);
  eval->callback([o] { with_cpu_backend(o->backend, [&]<class B>() { run_eval<B>(*o); }); });

  auto* compute = ent->add_subcommand("compute", "Write the next-token entropies of a token file (PZENTROP)");
  add_common(compute, *o);
  compute->add_option("--tokens", o->tokens, "token file")->required()->check(CLI::ExistingFile);
  compute->add_option("--model", o->model, "entropy model checkpoint")->required()->check(CLI::ExistingFile);
  compute->add_option("--out", o->out, "entropy file to write")->required();
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
