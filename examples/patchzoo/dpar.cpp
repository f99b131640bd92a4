// `patchzoo dpar train|sample|flops`: the class-conditional DPAR model and its LlamaGen baseline over a
// token file (DPAR's patches from an entropy file), class-conditional sample grids decoded by the VQ
// tokenizer, and the parameter / FLOP table of the paper's sizes and of a configured small model.
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
#include "patchzoo/data/fashion_mnist.hpp"
#include "patchzoo/dpar/entropy_file.hpp"
#include "patchzoo/dpar/model_checkpoint.hpp"
#include "patchzoo/dpar/sampler.hpp"
#include "patchzoo/dpar/trainer.hpp"
#include "patchzoo/image/grid.hpp"
#include "patchzoo/image/png.hpp"
#include "patchzoo/util/progress.hpp"
#include "patchzoo/util/report.hpp"
#include "patchzoo/vq/vq_checkpoint.hpp"
#include "backend_choice.hpp"
#include "subcommands.hpp"

namespace {

using namespace patchzoo;
namespace fs = std::filesystem;

struct dpar_options {
  std::string backend = "eigen";
  bool json = false;
  // train
  std::string model = "dpar", tokens, entropy, out, mode = "entropy_row", positions = "dynamic_4d";
  double threshold = -1, target = 1.81, static_length = 1.8191;
  int max_patch = 4;
  std::int64_t steps = 2000, batch = 32, dim = 128, heads = 4, ffn = 0, layers = 6, encoder_layers = 1,
               global_layers = 4, decoder_layers = 1, classes = 10, warmup = 0, checkpoint_every = 500;
  double lr = 1e-3, dropout = 0.1;
  bool cosine = false, resume = false;
  std::uint64_t seed = 0;
  // sample
  std::string checkpoint, entropy_model, tokenizer, class_list = "0-9", tokens_out;
  std::int64_t per_class = 4;
  double cfg = 2.0, temperature = 1.0, top_p = 1.0, sample_threshold = -1;
  std::int64_t top_k = 0;
  // flops
  double mean_length = 1.81;
  std::int64_t flops_tokens = 256, vocab = 512;
};

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

dpar::patching_mode patching_mode_of(const std::string& s) { return dpar::parse_patching_mode(s); }

std::vector<std::vector<float>> entropy_rows(const dpar::entropy_file& e) {
  std::vector<std::vector<float>> rows;
  for (std::int64_t i = 0; i < e.count(); ++i) rows.emplace_back(e.image(i).begin(), e.image(i).end());
  return rows;
}

template <class B, class Model>
void train_model(B& be, Model& model, const dpar_options& o, const vq::token_file& data,
                 const dpar::entropy_file* ent, const dpar::patcher_config& pc, report& r) {
  const fs::path out(o.out);
  check(o.resume || !fs::exists(dpar::trainer_checkpoint_path(out)), "dpar train", out.string(),
        " already holds a checkpoint: pass --resume to continue it or choose another --out");
  dpar::train_config t{.steps = o.steps, .batch = o.batch, .lr = o.lr, .warmup = o.warmup, .cosine = o.cosine,
                       .min_lr = 0.1 * o.lr, .clip = 1.0, .weight_decay = 0.05,
                       .checkpoint_every = o.checkpoint_every, .seed = o.seed, .out_dir = out};
  dpar::trainer<B, Model> trainer(model, data, t, ent, pc);
  const std::int64_t resumed = trainer.resume(be);
  std::cerr << "dpar train (" << o.model << "): " << model.layout().total() << " parameters, " << data.count()
            << " images of " << data.grid_h << "x" << data.grid_w << " tokens over " << data.codebook_size
            << " codes, backend " << B::name;
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
}

nn::block_config block_of(const dpar_options& o) {
  return {.dim = o.dim, .heads = o.heads, .ffn_hidden = o.ffn > 0 ? o.ffn : dpar::round_up_256_ffn(o.dim),
          .norm_eps = 1e-5f};
}

template <class B>
void run_train(const dpar_options& o) {
  B be;
  const auto data = vq::read_token_file(o.tokens);
  report r;
  r["backend"] = std::string(B::name);
  r["model"] = o.model;
  if (o.model == "baseline") {
    dpar::llamagen_config c;
    c.vocab = data.codebook_size;
    c.classes = o.classes;
    c.tokens = data.tokens_per_image();
    c.row_width = data.grid_w;
    c.layers = o.layers;
    c.block = block_of(o);
    c.token_dropout = c.label_dropout = c.block_dropout = static_cast<float>(o.dropout);
    dpar::llamagen_model<B, float> model(c, o.seed);
    train_model(be, model, o, data, nullptr, {}, r);
    r.emit(o.json);
    return;
  }
  dpar::patcher_config pc;
  pc.mode = patching_mode_of(o.mode);
  pc.max_patch_length = o.max_patch;
  pc.row_width = static_cast<int>(data.grid_w);
  pc.static_length = o.static_length;
  std::unique_ptr<dpar::entropy_file> ent;
  const bool needs_entropy = pc.mode == dpar::patching_mode::entropy || pc.mode == dpar::patching_mode::entropy_row_boundary;
  if (needs_entropy) {
    check(!o.entropy.empty(), "dpar train", "--mode ", o.mode, " needs --entropy (from 'patchzoo entropy compute')");
    ent = std::make_unique<dpar::entropy_file>(dpar::read_entropy_file(o.entropy));
    dpar::check_entropy_matches(*ent, data, o.entropy);
    const auto rows = entropy_rows(*ent);
    pc.threshold = o.threshold >= 0 ? o.threshold : dpar::find_threshold(pc, rows, data.tokens_per_image(), o.target);
    r["mean_patch_length"] = dpar::mean_patch_length(pc, rows, data.tokens_per_image());
  }
  r["patcher"] = {{"mode", dpar::mode_name(pc.mode)}, {"threshold", pc.threshold}, {"max_patch_length", pc.max_patch_length}};
  dpar::dpar_config c;
  c.vocab = data.codebook_size;
  c.classes = o.classes;
  c.tokens = data.tokens_per_image();
  c.row_width = data.grid_w;
  c.encoder_layers = o.encoder_layers;
  c.global_layers = o.global_layers;
  c.decoder_layers = o.decoder_layers;
  c.block = block_of(o);
  c.positions = dpar::parse_global_position(o.positions);
  c.token_dropout = c.label_dropout = c.global_dropout = static_cast<float>(o.dropout);
  dpar::dpar_model<B, float> model(c, o.seed);
  train_model(be, model, o, data, ent.get(), pc, r);
  r.emit(o.json);
}

// "0-9", "3", "1,4,7" or "0-2,5".
std::vector<std::int32_t> parse_classes(const std::string& text, std::int64_t classes) {
  std::vector<std::int32_t> out;
  std::size_t at = 0;
  while (at <= text.size()) {
    const std::size_t comma = std::min(text.find(',', at), text.size());
    const std::string part = text.substr(at, comma - at);
    const std::size_t dash = part.find('-');
    int lo = -1, hi = -1;
    try {
      lo = std::stoi(part.substr(0, dash));
      hi = dash == std::string::npos ? lo : std::stoi(part.substr(dash + 1));
    } catch (const std::exception&) {
      lo = -1;
    }
    check(lo >= 0 && hi >= lo && hi < classes, "dpar sample", "--classes part '", part,
          "' is not a class or range of classes in [0, ", classes, ")");
    for (int c = lo; c <= hi; ++c) out.push_back(c);
    at = comma + 1;
  }
  return out;
}

template <class B>
void run_sample(const dpar_options& o) {
  B be;
  const auto meta = dpar::read_checkpoint_metadata(o.checkpoint);
  const auto kind = dpar::parse_model_kind(dpar::metadata_detail::field(meta, "model.kind"));
  check(kind != dpar::model_kind::entropy, "dpar sample", o.checkpoint,
        " holds the unconditional entropy model; sample from a baseline or DPAR checkpoint");
  auto tok = vq::load_tokenizer(be, o.tokenizer);
  const std::int64_t codebook = tok->config().codebook_size;
  const std::int64_t classes = dpar::metadata_detail::int_field(meta, "model.classes");
  const auto chosen = parse_classes(o.class_list, classes);
  std::vector<std::int32_t> labels;
  for (const auto c : chosen)
    for (std::int64_t k = 0; k < o.per_class; ++k) labels.push_back(c);
  const auto n = static_cast<std::int64_t>(labels.size());
  const dpar::sampling_config sc{.cfg_scale = o.cfg, .temperature = o.temperature, .top_k = o.top_k, .top_p = o.top_p,
                                 .seed = o.seed};
  report r;
  r["backend"] = std::string(B::name);
  r["model"] = dpar::kind_name(kind);
  const std::int64_t t_img = dpar::metadata_detail::int_field(meta, "model.tokens");
  const std::int64_t grid_w = dpar::metadata_detail::int_field(meta, "model.row_width");
  progress bar("sample", t_img, {.unit = "token"});
  const auto start = std::chrono::steady_clock::now();
  dpar::token_rows samples;
  if (kind == dpar::model_kind::baseline) {
    auto model = dpar::load_llamagen(be, o.checkpoint);
    dpar::baseline_stepper<B> stepper(*model, labels, dpar::is_guided(sc));
    samples = dpar::sample_tokens(be, stepper, n, std::min(codebook, model->config().vocab), sc,
                                  [&](std::int64_t s) { bar.update(s); });
    r["global_steps_per_image"] = t_img;
  } else {
    dpar::patcher_config pc;
    auto model = dpar::load_dpar(be, o.checkpoint, pc);
    if (o.sample_threshold >= 0) pc.threshold = o.sample_threshold;  // larger patches at inference (digest 1.11)
    std::unique_ptr<dpar::llamagen_model<B, float>> ent;
    if (!o.entropy_model.empty()) ent = dpar::load_llamagen(be, o.entropy_model);
    dpar::dpar_stepper<B> stepper(*model, ent.get(), pc, labels, dpar::is_guided(sc));
    samples = dpar::sample_tokens(be, stepper, n, std::min(codebook, model->config().vocab), sc,
                                  [&](std::int64_t s) { bar.update(s); });
    double patches = 0;
    for (const auto& len : stepper.lengths()) patches += static_cast<double>(len.size());
    r["threshold"] = pc.threshold;
    r["global_steps_per_image"] = patches / static_cast<double>(n);
    r["mean_patch_length"] = static_cast<double>(t_img) * static_cast<double>(n) / patches;
  }
  bar.finish();
  const double seconds = seconds_since(start);
  const std::int64_t grid_h = t_img / grid_w;
  tensor<std::int32_t> codes(shape_t{n, grid_h, grid_w});
  for (std::int64_t i = 0; i < n; ++i)
    std::copy(samples[static_cast<std::size_t>(i)].begin(), samples[static_cast<std::size_t>(i)].end(),
              codes.data() + i * t_img);
  const auto images = tok->decode(be, codes);
  image::grid_options g;
  g.rows = static_cast<std::int64_t>(chosen.size());
  g.cols = o.per_class;
  g.scale = 2;
  g.lo = -1.0;
  g.hi = 1.0;
  for (const auto c : chosen)
    g.row_labels.push_back(classes == 10 ? data::fashion_mnist_classes[static_cast<std::size_t>(c)] : std::to_string(c));
  image::write_png(o.out, image::image_grid(images.cview(), g));
  if (!o.tokens_out.empty()) {
    vq::token_file f;
    f.grid_h = grid_h;
    f.grid_w = grid_w;
    f.codebook_size = codebook;
    for (std::int64_t i = 0; i < codes.numel(); ++i) f.tokens.push_back(static_cast<std::uint16_t>(codes[i]));
    for (const auto l : labels) f.labels.push_back(static_cast<std::uint8_t>(l));
    vq::write_token_file(o.tokens_out, f);
    r["tokens_file"] = o.tokens_out;
  }
  r["images"] = n;
  r["cfg_scale"] = o.cfg;
  r["temperature"] = o.temperature;
  r["top_k"] = o.top_k;
  r["top_p"] = o.top_p;
  r["seed"] = o.seed;
  r["seconds"] = seconds;
  r["images_per_second"] = static_cast<double>(n) / seconds;
  r["png"] = o.out;
  r.emit(o.json);
}

void run_flops(const dpar_options& o) {
  struct size_row {
    const char* name;
    std::int64_t dim, heads, ffn, llamagen_layers;
    dpar::dpar_split split;
  };
  const size_row paper[] = {{"B", 768, 12, 2048, 12, {1, 8, 3}},
                            {"L", 1024, 16, 2816, 24, {1, 19, 4}},
                            {"XL", 1280, 20, 3584, 36, {1, 30, 5}},
                            {"XXL", 1536, 24, 4096, 48, {1, 41, 6}}};
  report r;
  const auto row = [&](const std::string& name, const dpar::ar_shape& s, int layers, dpar::dpar_split split,
                       double mean_patches) {
    nlohmann::ordered_json j;
    j["llamagen_params"] = dpar::llamagen_parameters(s, layers);
    j["dpar_params"] = dpar::dpar_parameters(s, split);
    j["llamagen_paper_gmacs"] = dpar::llamagen_paper_flops(s, layers) / 1e9;
    j["dpar_paper_gmacs"] = dpar::dpar_paper_flops(s, split, mean_patches) / 1e9;
    j["llamagen_train_gflops_per_image"] = dpar::llamagen_full_flops(s, layers).training / 1e9;
    j["dpar_train_gflops_per_image"] = dpar::dpar_full_flops(s, split, mean_patches).training / 1e9;
    j["mean_patches"] = mean_patches;
    r[name] = j;
  };
  for (const auto& p : paper)  // 256 px: 16 x 16 VQ-16 codes, V = 16384, 1000 classes + null, M = 256 / 1.81
    row("paper_" + std::string(p.name) + "_256", {p.dim, p.heads, p.ffn, 16384, 1001, 256},
        static_cast<int>(p.llamagen_layers), p.split, 256.0 / 1.81);
  const dpar::dpar_split small{static_cast<int>(o.encoder_layers), static_cast<int>(o.global_layers),
                               static_cast<int>(o.decoder_layers)};
  const auto ffn = o.ffn > 0 ? o.ffn : dpar::round_up_256_ffn(o.dim);
  row("configured", {o.dim, o.heads, ffn, o.vocab, o.classes + 1, o.flops_tokens},
      small.encoder + small.global + small.decoder, small, static_cast<double>(o.flops_tokens) / o.mean_length);
  r.emit(o.json);
}


void add_common(CLI::App* cmd, dpar_options& o) {
  add_backend_option(cmd, o.backend);
  cmd->add_flag("--json", o.json, "print one JSON object on stdout");
}

void add_shape(CLI::App* cmd, dpar_options& o) {
  cmd->add_option("--dim", o.dim, "model width")->check(CLI::PositiveNumber);
  cmd->add_option("--heads", o.heads, "attention heads")->check(CLI::PositiveNumber);
  cmd->add_option("--ffn", o.ffn, "SwiGLU width (0: round_up_256(8 dim / 3))")->check(CLI::NonNegativeNumber);
  cmd->add_option("--encoder-layers", o.encoder_layers, "DPAR local encoder blocks")->check(CLI::PositiveNumber);
  cmd->add_option("--global-layers", o.global_layers, "DPAR global blocks")->check(CLI::PositiveNumber);
  cmd->add_option("--decoder-layers", o.decoder_layers, "DPAR local decoder blocks")->check(CLI::PositiveNumber);
  cmd->add_option("--classes", o.classes, "class count (the null class is added)")->check(CLI::PositiveNumber);
}

}  // namespace

void register_dpar(CLI::App& app) {
  auto o = std::make_shared<dpar_options>();
  auto* dp = app.add_subcommand("dpar", "DPAR and its LlamaGen baseline: train, sample, parameter/FLOP table");
  dp->require_subcommand(1);

  auto* train = dp->add_subcommand("train", "Train DPAR (patches from an entropy file) or the LlamaGen baseline");
  add_common(train, *o);
  add_shape(train, *o);
  train->add_option("--model", o->model, "dpar or baseline")->check(CLI::IsMember({"dpar", "baseline"}));
  train->add_option("--tokens", o->tokens, "token file (PZTOKENS)")->required()->check(CLI::ExistingFile);
  train->add_option("--entropy", o->entropy, "its entropy file (entropy modes)")->check(CLI::ExistingFile);
  train->add_option("--mode", o->mode, "patching: entropy_row (paper), entropy, static or token")
      ->check(CLI::IsMember({"entropy_row", "entropy", "static", "token"}));
  train->add_option("--threshold", o->threshold, "theta in nats (default: found for --target-mean-length)");
  train->add_option("--target-mean-length", o->target, "mean patch length the threshold is fitted to")
      ->check(CLI::Range(1.0, 1e6));
  train->add_option("--max-patch", o->max_patch, "P_max (0: no cap)")->check(CLI::NonNegativeNumber);
  train->add_option("--static-length", o->static_length, "patch length of the static mode")->check(CLI::Range(1.0, 1e6));
  train->add_option("--positions", o->positions, "global RoPE layout")
      ->check(CLI::IsMember({"slot_1d", "dynamic_3d", "dynamic_4d"}));
  train->add_option("--layers", o->layers, "baseline blocks")->check(CLI::PositiveNumber);
  train->add_option("--out", o->out, "run directory: checkpoint.safetensors, loss.csv, loss.png")->required();
  train->add_option("--steps", o->steps, "total training steps")->check(CLI::PositiveNumber);
  train->add_option("--batch", o->batch, "images per step")->check(CLI::PositiveNumber);
  train->add_option("--lr", o->lr, "learning rate (constant unless --cosine)")->check(CLI::PositiveNumber);
  train->add_option("--warmup", o->warmup, "linear warmup steps")->check(CLI::NonNegativeNumber);
  train->add_flag("--cosine", o->cosine, "cosine decay to 10% of --lr after the warmup");
  train->add_option("--dropout", o->dropout, "token, label (CFG) and residual/FFN dropout")->check(CLI::Range(0.0, 0.9));
  train->add_option("--checkpoint-every", o->checkpoint_every, "steps between checkpoints (0: only at the end)")
      ->check(CLI::NonNegativeNumber);
  train->add_option("--seed", o->seed, "seed for weights, data order and dropout");
  train->add_flag("--resume", o->resume, "continue the checkpoint in --out");
  train->callback([o] { with_cpu_backend(o->backend, [&]<class B>() { run_train<B>(*o); }); });

  auto* sample = dp->add_subcommand("sample", "Class-conditional samples decoded to a PNG grid (one row per class)");
  add_common(sample, *o);
  sample->add_option("--checkpoint", o->checkpoint, "DPAR or baseline checkpoint")->required()->check(CLI::ExistingFile);
  sample->add_option("--entropy-model", o->entropy_model, "entropy model checkpoint (DPAR, entropy modes)")
      ->check(CLI::ExistingFile);
  sample->add_option("--tokenizer", o->tokenizer, "VQ tokenizer run directory")->required()->check(CLI::ExistingDirectory);
  sample->add_option("--classes", o->class_list, "classes, e.g. 0-9 or 1,3,5");
  sample->add_option("--per-class", o->per_class, "samples per class")->check(CLI::PositiveNumber);
  sample->add_option("--cfg", o->cfg, "classifier-free guidance scale (1: off)")->check(CLI::NonNegativeNumber);
  sample->add_option("--temperature", o->temperature, "softmax temperature")->check(CLI::PositiveNumber);
  sample->add_option("--top-k", o->top_k, "keep the k most likely tokens (0: off)")->check(CLI::NonNegativeNumber);
  sample->add_option("--top-p", o->top_p, "nucleus mass (1: off)")->check(CLI::Range(1e-9, 1.0));
  sample->add_option("--threshold", o->sample_threshold, "override theta at sampling time (DPAR)");
  sample->add_option("--seed", o->seed, "sampling seed");
  sample->add_option("--tokens-out", o->tokens_out, "also write the sampled tokens as a token file");
  sample->add_option("--out", o->out, "output PNG")->required();
  sample->callback([o] { with_cpu_backend(o->backend, [&]<class B>() { run_sample<B>(*o); }); });

  auto* flops = dp->add_subcommand("flops", "Parameters and FLOPs per image: the paper's sizes and a configured model");
  flops->add_flag("--json", o->json, "print one JSON object on stdout");
  add_shape(flops, *o);
  flops->add_option("--tokens", o->flops_tokens, "tokens per image of the configured model")->check(CLI::PositiveNumber);
  flops->add_option("--vocab", o->vocab, "codebook size of the configured model")->check(CLI::PositiveNumber);
  flops->add_option("--mean-length", o->mean_length, "mean patch length of the configured model")
      ->check(CLI::Range(1.0, 1e6));
  flops->callback([o] { run_flops(*o); });
}
