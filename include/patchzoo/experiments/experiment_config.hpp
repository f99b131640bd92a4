#pragma once
// What `patchzoo dpar experiment` runs: data and model sizes, the one training recipe both models share,
// how often and on how many samples FID-FMNIST is measured, and the ablation budget. Presets:
//   tiny  - seconds, for tests (a tiny token file, no tokenizer training worth the name)
//   quick - <= 15 minutes on one CPU core
//   full  - sized for <= 3 hours on 2 CPU cores (each grid in its own one-thread process, docs/dpar_evaluation.md)
//   gpu   - larger models and more samples, for a CUDA build
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "patchzoo/core/error.hpp"
#include "patchzoo/dpar/sampling_filters.hpp"
#include "patchzoo/pipeline/dpar_step.hpp"
#include "patchzoo/pipeline/entropy_step.hpp"
#include "patchzoo/vq/vq_config.hpp"

namespace patchzoo::dpar::experiment {

// One token grid and the mean patch length DPAR's threshold is fitted to there (paper: 1.81 at 16x16,
// 2.06 at 24x24).
struct grid_setting {
  int grid = 16;
  double target_length = 1.81;
};

struct experiment_config {
  std::string preset = "quick";
  std::filesystem::path data_dir;  // Fashion-MNIST; empty: the default path
  std::filesystem::path zoo_dir = "runs/zoo";
  std::map<int, std::filesystem::path> tokenizers;  // grid -> trained tokenizer dir; a missing grid is trained
  std::vector<grid_setting> grids{{16, 1.81}, {24, 2.06}};
  std::int64_t train_images = 2000;      // first N of the training split, tokenised
  std::int64_t reference_images = 500;   // first N test images: the real side of FID-FMNIST

  vq::vq_config tokenizer_model{.dead_code_steps = 50};
  std::int64_t tokenizer_steps = 80, tokenizer_batch = 16;
  double tokenizer_lr = 2e-3;

  pipeline::entropy_model_options entropy_model{.dim = 64, .layers = 2, .heads = 2, .ffn = 0};
  pipeline::ar_model_options model{.dim = 64, .heads = 2, .ffn = 0, .layers = 4, .encoder_layers = 1,
                                   .global_layers = 1, .decoder_layers = 2};
  pipeline::train_recipe recipe{.steps = 80, .batch = 16, .lr = 1e-3, .warmup = 10, .cosine = false,
                                .dropout = 0.1, .checkpoint_every = 0, .seed = 1};
  std::int64_t evaluations = 2;     // FID points along each main training run (evenly spaced in steps)
  std::int64_t eval_samples = 50;   // generated images per evaluation, the same number per class
  std::int64_t seed_repeats = 1;    // the final FID-FMNIST measured with this many sampling seeds (its spread)
  sampling_config sampling{.cfg_scale = 2.0, .temperature = 1.0, .top_k = 0, .top_p = 1.0, .seed = 7};

  bool ablations = true;               // at the first grid only (16x16)
  std::int64_t ablation_steps = 30;    // training steps of each ablation model
  std::int64_t ablation_samples = 20;
  std::int64_t grid_columns = 5;       // sample grid: images per class row
};

inline experiment_config preset_config(const std::string& name) {
  experiment_config c;
  c.preset = name;
  if (name == "quick") return c;
  if (name == "tiny") {
    c.grids = {{16, 1.81}};
    c.train_images = 64;
    c.reference_images = 40;
    c.tokenizer_model.hidden = 8;
    c.tokenizer_model.codebook_size = 32;
    c.tokenizer_steps = 2;
    c.tokenizer_batch = 8;
    c.entropy_model = {.dim = 16, .layers = 1, .heads = 1, .ffn = 32};
    c.model = {.dim = 16, .heads = 1, .ffn = 32, .layers = 3, .encoder_layers = 1, .global_layers = 1,
               .decoder_layers = 1};
    c.recipe.steps = 4;
    c.recipe.batch = 4;
    c.recipe.warmup = 0;
    c.evaluations = 2;
    c.eval_samples = 10;
    c.ablation_steps = 2;
    c.ablation_samples = 10;
    c.grid_columns = 1;
    return c;
  }
  if (name == "full") {
    // Sized from measured one-thread rates (16x16, width 128: ~1.2 s per 32-image baseline step, ~0.3 s
    // per sample; 24x24 ~2.5x both): run as two one-thread processes, `--grid 16` (with the ablations)
    // and `--grid 24`, each ~1.5 h on a 2-core machine. The demo's model and entropy-model sizes.
    c.train_images = 20000;
    c.reference_images = 2000;
    c.tokenizer_steps = 400;
    c.tokenizer_batch = 32;
    c.entropy_model = {.dim = 128, .layers = 2, .heads = 2, .ffn = 0};
    c.model = {.dim = 128, .heads = 2, .ffn = 0, .layers = 4, .encoder_layers = 1, .global_layers = 2,
               .decoder_layers = 1};
    c.recipe.steps = 500;
    c.recipe.batch = 32;
    c.recipe.warmup = 20;
    c.evaluations = 3;
    c.eval_samples = 200;
    c.seed_repeats = 3;
    c.ablation_steps = 120;
    c.ablation_samples = 100;
    c.grid_columns = 8;
    return c;
  }
  if (name == "gpu") {
    c.train_images = 60000;
    c.reference_images = 10000;
    c.tokenizer_steps = 4000;
    c.tokenizer_batch = 64;
    c.entropy_model = {.dim = 256, .layers = 4, .heads = 4, .ffn = 0};
    c.model = {.dim = 384, .heads = 6, .ffn = 0, .layers = 12, .encoder_layers = 1, .global_layers = 8,
               .decoder_layers = 3};
    c.recipe.steps = 20000;
    c.recipe.batch = 64;
    c.recipe.lr = 3e-4;
    c.recipe.warmup = 200;
    c.evaluations = 10;
    c.eval_samples = 5000;
    c.seed_repeats = 3;
    c.ablation_steps = 8000;
    c.ablation_samples = 2000;
    c.grid_columns = 8;
    return c;
  }
  throw error("dpar experiment: unknown preset '" + name + "' (tiny, quick, full or gpu)");
}

// Refuses settings the experiment cannot run, naming the field.
inline void validate(const experiment_config& c) {
  const auto need = [](bool ok, const std::string& what) { check(ok, "dpar experiment", what); };
  need(!c.grids.empty(), "needs at least one grid");
  for (const auto& g : c.grids) need((g.grid == 16 || g.grid == 24) && g.target_length >= 1.0, "grids are 16 or 24 with a target mean patch length >= 1");
  need(c.train_images >= c.recipe.batch && c.recipe.batch >= 1, "train_images must be at least one batch");
  need(c.reference_images > 3, "reference_images must be > 3 (k-NN recall uses k = 3)");
  need(c.recipe.steps >= 1 && c.evaluations >= 1 && c.evaluations <= c.recipe.steps, "needs 1 <= evaluations <= steps");
  need(c.eval_samples >= 10 && c.eval_samples % 10 == 0, "eval_samples must be a positive multiple of 10 (balanced classes)");
  need(c.seed_repeats >= 1, "seed_repeats must be >= 1");
  need(c.tokenizer_lr > 0, "tokenizer_lr must be positive");
  need(!c.ablations || (c.ablation_steps >= 1 && c.ablation_samples >= 10 && c.ablation_samples % 10 == 0),
       "ablations need steps >= 1 and a positive multiple of 10 samples");
  need(c.recipe.warmup < c.recipe.steps && (!c.ablations || c.recipe.warmup < c.ablation_steps),
       "the warmup must be shorter than the main and the ablation runs");
  need(c.model.layers == c.model.encoder_layers + c.model.global_layers + c.model.decoder_layers,
       "the baseline's layers must equal DPAR's encoder + global + decoder layers (same total depth)");
  need(c.grid_columns >= 1 && c.grid_columns <= c.eval_samples / 10, "grid_columns must be in [1, eval_samples / 10]");
}

inline nlohmann::ordered_json to_json(const experiment_config& c) {
  nlohmann::ordered_json j;
  j["preset"] = c.preset;
  j["zoo_dir"] = c.zoo_dir.string();
  for (const auto& g : c.grids) j["grids"].push_back({{"grid", g.grid}, {"target_mean_length", g.target_length}});
  j["train_images"] = c.train_images;
  j["reference_images"] = c.reference_images;
  j["tokenizer"] = {{"codebook", c.tokenizer_model.codebook_size}, {"hidden", c.tokenizer_model.hidden},
                    {"steps", c.tokenizer_steps}, {"batch", c.tokenizer_batch}, {"lr", c.tokenizer_lr},
                    {"dead_code_steps", c.tokenizer_model.dead_code_steps}};
  j["entropy_model"] = {{"dim", c.entropy_model.dim}, {"layers", c.entropy_model.layers}, {"heads", c.entropy_model.heads}};
  j["model"] = {{"dim", c.model.dim}, {"heads", c.model.heads}, {"baseline_layers", c.model.layers},
                {"dpar_encoder", c.model.encoder_layers}, {"dpar_global", c.model.global_layers},
                {"dpar_decoder", c.model.decoder_layers}};
  j["recipe"] = {{"steps", c.recipe.steps}, {"batch", c.recipe.batch}, {"lr", c.recipe.lr},
                 {"warmup", c.recipe.warmup}, {"cosine", c.recipe.cosine}, {"dropout", c.recipe.dropout},
                 {"seed", c.recipe.seed}};
  j["evaluations"] = c.evaluations;
  j["eval_samples"] = c.eval_samples;
  j["seed_repeats"] = c.seed_repeats;
  j["sampling"] = {{"cfg", c.sampling.cfg_scale}, {"temperature", c.sampling.temperature},
                   {"top_k", c.sampling.top_k}, {"top_p", c.sampling.top_p}, {"seed", c.sampling.seed}};
  j["ablations"] = c.ablations;
  j["ablation_steps"] = c.ablation_steps;
  j["ablation_samples"] = c.ablation_samples;
  return j;
}

}  // namespace patchzoo::dpar::experiment
