// `patchzoo dpar train|sample|flops`: the class-conditional DPAR model and its LlamaGen baseline over a
// token file (DPAR's patches from an entropy file), class-conditional sample grids decoded by the VQ
// tokenizer, and the parameter / FLOP table of the paper's sizes and of a configured small model.
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
#include "patchzoo/dpar/model_checkpoint.hpp"
#include "patchzoo/pipeline/dpar_step.hpp"
#include "patchzoo/pipeline/sample_step.hpp"
#include "patchzoo/pipeline/tokenizer_step.hpp"
#include "patchzoo/util/progress.hpp"
#include "patchzoo/util/report.hpp"
#include "patchzoo/vq/vq_checkpoint.hpp"
#include "backend_choice.hpp"
#include "output_file.hpp"
#include "distributed.hpp"
#include "recipe_options.hpp"
#include "sampling_options.hpp"
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
  pipeline::train_recipe recipe;
  std::int64_t dim = 128, heads = 4, ffn = 0, layers = 6, encoder_layers = 1, global_layers = 4, decoder_layers = 1,
               classes = 10;
  bool resume = false;
  // sample
  std::string checkpoint, entropy_model, tokenizer, class_list = "0-9", tokens_out;
  std::int64_t per_class = 4;
  dpar::sampling_config sampling;
  pipeline::patcher_overrides overrides;
  // flops
  double mean_length = 1.81;
  std::int64_t flops_tokens = 256, vocab = 512;
};

pipeline::ar_model_options model_options_of(const dpar_options& o) {
  return {.dim = o.dim, .heads = o.heads, .ffn = o.ffn, .layers = o.layers, .encoder_layers = o.encoder_layers,
          .global_layers = o.global_layers, .decoder_layers = o.decoder_layers, .classes = o.classes,
          .positions = dpar::parse_global_position(o.positions)};
}

pipeline::existing_checkpoint existing_of(const dpar_options& o) {
  return o.resume ? pipeline::existing_checkpoint::resume : pipeline::existing_checkpoint::refuse;
}

template <class B>
void run_train(const dpar_options& o) {
  B be;
  const auto data = patchzoo::data::read_token_file(o.tokens);
  report r;
  r["backend"] = std::string(B::name);
  r["model"] = o.model;
  progress bar("train", o.recipe.steps);
  const pipeline::training_hooks hooks{
      .on_start = [&](std::int64_t resumed, std::int64_t parameters) {
        std::cerr << "dpar train (" << o.model << "): " << parameters << " parameters, " << data.count() << " images of "
                  << data.grid_h << "x" << data.grid_w << " tokens over " << data.codebook_size << " codes, backend "
                  << B::name;
        if (resumed > 0) std::cerr << ", resumed at step " << resumed;
        std::cerr << "\n";
        bar.update(resumed);
      },
      .on_step = [&](const dpar::train_step_log& s) {
        char extra[64];
        std::snprintf(extra, sizeof extra, "loss %.4f", s.loss);
        bar.update(s.step, extra);
      }};
  auto recipe = o.recipe;
  recipe.comm = &cli::job_communicator();  // data-parallel under mpirun / srun
  pipeline::training_summary s;
  if (o.model == "baseline") {
    s = pipeline::train_baseline(be, data, model_options_of(o), recipe, o.out, existing_of(o), hooks);
  } else {
    const pipeline::patcher_options po{.mode = dpar::parse_patching_mode(o.mode), .threshold = o.threshold,
                                       .target = o.target, .max_patch = o.max_patch, .static_length = o.static_length};
    std::unique_ptr<dpar::entropy_file> ent;
    if (pipeline::uses_entropy(po.mode)) {
      check(!o.entropy.empty(), "dpar train", "--mode ", o.mode, " needs --entropy (from 'patchzoo entropy compute')");
      ent = std::make_unique<dpar::entropy_file>(dpar::read_entropy_file(o.entropy));
      dpar::check_entropy_matches(*ent, data, o.entropy);
    }
    const auto p = pipeline::make_patcher(data, ent.get(), po);
    r["mean_patch_length"] = p.mean_length;
    r["patcher"] = {{"mode", dpar::mode_name(p.patcher.mode)}, {"threshold", p.patcher.threshold},
                    {"max_patch_length", p.patcher.max_patch_length}};
    s = pipeline::train_dpar(be, data, ent.get(), p.patcher, model_options_of(o), recipe, o.out, existing_of(o), hooks);
  }
  bar.finish();
  const auto summary = s.json();
  for (const auto& [key, value] : summary.items()) r[key] = value;
  r.emit(o.json);
}

template <class B>
void run_sample(const dpar_options& o) {
  B be;
  const auto meta = dpar::read_checkpoint_metadata(o.checkpoint);
  pipeline::sampled_kind(meta, o.checkpoint);
  auto tok = vq::load_tokenizer(be, o.tokenizer);
  const std::int64_t codebook = tok->config().codebook_size;
  const std::int64_t classes = dpar::metadata_detail::int_field(meta, "model.classes");
  const auto chosen = pipeline::parse_classes(o.class_list, classes);
  const std::int64_t image_side = pipeline::tokenizer_grid(o.tokenizer) * tok->config().downsample;
  image::layout_grid(image_side, image_side, pipeline::class_grid(chosen, o.per_class, classes));  // before sampling
  const auto labels = pipeline::class_labels(chosen, o.per_class);
  progress bar("sample", dpar::metadata_detail::int_field(meta, "model.tokens"), {.unit = "token"});
  const auto s = pipeline::sample_checkpoint(be, o.checkpoint, o.entropy_model, labels, o.sampling, codebook, o.overrides,
                                             [&](std::int64_t step) { bar.update(step); });
  bar.finish();
  report r;
  r["backend"] = std::string(B::name);
  r["model"] = dpar::kind_name(s.kind);
  if (s.kind == dpar::model_kind::dpar) {
    r["threshold"] = s.threshold;
    r["max_patch_length"] = s.max_patch_length;
    r["global_steps_per_image"] = s.global_steps_per_image;
    r["mean_patch_length"] = s.mean_patch_length;
  } else {
    r["global_steps_per_image"] = s.global_steps_per_image;
  }
  const auto images = pipeline::decode_tokens(be, *tok, s.tokens, s.grid_h, s.grid_w);
  pipeline::write_class_grid(o.out, images, chosen, o.per_class, classes);
  if (!o.tokens_out.empty()) {
    data::write_token_file(o.tokens_out, pipeline::samples_token_file(s, codebook));
    r["tokens_file"] = o.tokens_out;
  }
  r["images"] = static_cast<std::int64_t>(labels.size());
  r["cfg_scale"] = o.sampling.cfg_scale;
  r["temperature"] = o.sampling.temperature;
  r["top_k"] = o.sampling.top_k;
  r["top_p"] = o.sampling.top_p;
  r["seed"] = o.sampling.seed;
  r["seconds"] = s.seconds;
  r["images_per_second"] = static_cast<double>(labels.size()) / s.seconds;
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
  add_recipe_options(train, o->recipe, "token, label (CFG) and residual/FFN dropout");
  train->add_flag("--resume", o->resume, "continue the checkpoint in --out");
  train->callback([o] { with_cpu_backend(o->backend, [&]<class B>() { run_train<B>(*o); }); });

  auto* sample = dp->add_subcommand("sample", "Class-conditional samples decoded to a PNG grid (one row per class)");
  add_common(sample, *o);
  sample->add_option("--checkpoint", o->checkpoint, "DPAR or baseline checkpoint")->required()->check(CLI::ExistingFile);
  sample->add_option("--entropy-model", o->entropy_model, "entropy model (DPAR, entropy modes): a checkpoint of `entropy train` or an unconditional GPT from scripts/convert-llamagen")
      ->check(CLI::ExistingFile);
  sample->add_option("--tokenizer", o->tokenizer, "VQ tokenizer run directory")->required()->check(CLI::ExistingDirectory);
  sample->add_option("--classes", o->class_list, "classes, e.g. 0-9 or 1,3,5");
  sample->add_option("--per-class", o->per_class, "samples per class")->check(CLI::PositiveNumber);
  add_sampling_options(sample, o->sampling, o->overrides);
  sample->add_option("--seed", o->sampling.seed, "sampling seed");
  sample->add_option("--tokens-out", o->tokens_out, "also write the sampled tokens as a token file")
      ->check(file_in_existing_directory);
  sample->add_option("--out", o->out, "output PNG")->required()->check(file_in_existing_directory);
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
