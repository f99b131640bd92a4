#pragma once
// DPAR and its LlamaGen baseline as a pipeline step: model configs from width/depth options, DPAR's
// patcher from an entropy file, training with one shared recipe, and per-image FLOPs of both models.
//   ar_model_options m{.dim = 128, .heads = 2, .layers = 4, .encoder_layers = 1, .global_layers = 2, .decoder_layers = 1};
//   dpar_patching p = make_patcher(tokens, &entropies, {.target = 1.81, .max_patch = 4});  // theta fitted
//   training_summary d = train_dpar(be, tokens, &entropies, p.patcher, m, recipe, "runs/dpar", existing_checkpoint::refuse, hooks);
//   training_summary b = train_baseline(be, tokens, m, recipe, "runs/baseline", existing_checkpoint::refuse, hooks);
//   per_image_cost cd = dpar_cost(dpar_config_for(tokens, m, 0), p.mean_patches), cb = baseline_cost(...);
// A baseline with `layers` = encoder + global + decoder layers has DPAR's width and total depth.
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "patchzoo/dpar/dpar_model.hpp"
#include "patchzoo/dpar/entropy_file.hpp"
#include "patchzoo/dpar/flops.hpp"
#include "patchzoo/dpar/llamagen_model.hpp"
#include "patchzoo/dpar/patcher.hpp"
#include "patchzoo/pipeline/entropy_step.hpp"
#include "patchzoo/pipeline/model_training.hpp"

namespace patchzoo::pipeline {

struct ar_model_options {
  std::int64_t dim = 128, heads = 4, ffn = 0;  // ffn 0: round_up_256(8 dim / 3)
  std::int64_t layers = 6;                     // baseline blocks
  std::int64_t encoder_layers = 1, global_layers = 4, decoder_layers = 1;  // DPAR
  std::int64_t classes = 10;                   // the null class is added
  dpar::global_position positions = dpar::global_position::dynamic_4d;
};

inline dpar::llamagen_config baseline_config(const data::token_file& data, const ar_model_options& o, double dropout) {
  dpar::llamagen_config c;
  c.vocab = data.codebook_size;
  c.classes = o.classes;
  c.tokens = data.tokens_per_image();
  c.row_width = data.grid_w;
  c.layers = o.layers;
  c.block = transformer_block(o.dim, o.heads, o.ffn);
  c.token_dropout = c.label_dropout = c.block_dropout = static_cast<float>(dropout);
  return c;
}

inline dpar::dpar_config dpar_config_for(const data::token_file& data, const ar_model_options& o, double dropout) {
  dpar::dpar_config c;
  c.vocab = data.codebook_size;
  c.classes = o.classes;
  c.tokens = data.tokens_per_image();
  c.row_width = data.grid_w;
  c.encoder_layers = o.encoder_layers;
  c.global_layers = o.global_layers;
  c.decoder_layers = o.decoder_layers;
  c.block = transformer_block(o.dim, o.heads, o.ffn);
  c.positions = o.positions;
  c.token_dropout = c.label_dropout = c.global_dropout = static_cast<float>(dropout);
  return c;
}

struct patcher_options {
  dpar::patching_mode mode = dpar::patching_mode::entropy_row_boundary;
  double threshold = -1;  // theta in nats; < 0: fitted to `target` on the entropy file
  double target = 1.81;   // mean patch length to fit theta to
  int max_patch = 4;      // P_max (0: no cap)
  double static_length = 1.8191;
};

struct dpar_patching {
  dpar::patcher_config patcher;
  double mean_length = 0;   // T / M over the token file
  double mean_patches = 0;  // M
};

inline bool uses_entropy(dpar::patching_mode m) {
  return m == dpar::patching_mode::entropy || m == dpar::patching_mode::entropy_row_boundary;
}

// The patcher DPAR trains with; entropy modes need the token file's entropy file.
inline dpar_patching make_patcher(const data::token_file& data, const dpar::entropy_file* entropies,
                                  const patcher_options& o) {
  dpar_patching out;
  out.patcher.mode = o.mode;
  out.patcher.max_patch_length = o.max_patch;
  out.patcher.row_width = static_cast<int>(data.grid_w);
  out.patcher.static_length = o.static_length;
  const std::vector<float> no_entropies(static_cast<std::size_t>(data.tokens_per_image()), 0.0f);  // not read
  std::span<const float> entropy_values = no_entropies;
  if (uses_entropy(o.mode)) {
    check(entropies != nullptr, "dpar train", "patching mode ", dpar::mode_name(o.mode),
          " needs an entropy file (from 'patchzoo entropy compute')");
    dpar::check_entropy_matches(*entropies, data, "dpar train");
    entropy_values = entropies->values;
    out.patcher.threshold = o.threshold >= 0
                                ? o.threshold
                                : dpar::find_threshold(out.patcher, entropy_values, data.tokens_per_image(), o.target);
  }
  out.mean_length = dpar::mean_patch_length(out.patcher, entropy_values, data.tokens_per_image());
  out.mean_patches = static_cast<double>(data.tokens_per_image()) / out.mean_length;
  return out;
}

template <backend B>
  requires transformer_ops<B, float>
training_summary train_baseline(B& be, const data::token_file& data, const ar_model_options& o, const train_recipe& recipe,
                                const std::filesystem::path& out_dir, existing_checkpoint existing, const training_hooks& hooks = {}) {
  dpar::llamagen_model<B, float> model(baseline_config(data, o, recipe.dropout), recipe.seed);
  return run_training(be, model, data, recipe, out_dir, existing, "dpar train", hooks);
}

template <backend B>
  requires transformer_ops<B, float>
training_summary train_dpar(B& be, const data::token_file& data, const dpar::entropy_file* entropies,
                            const dpar::patcher_config& patcher, const ar_model_options& o, const train_recipe& recipe,
                            const std::filesystem::path& out_dir, existing_checkpoint existing, const training_hooks& hooks = {}) {
  dpar::dpar_model<B, float> model(dpar_config_for(data, o, recipe.dropout), recipe.seed);
  return run_training(be, model, data, recipe, out_dir, existing, "dpar train", hooks, entropies, patcher);
}

// Cost of one image in both conventions of dpar/flops.hpp.
struct per_image_cost {
  std::int64_t parameters = 0;
  double paper_macs = 0;      // the paper's: forward MACs of the linear layers
  double forward_flops = 0;   // full: 2 per MAC, causal attention included
  double training_flops = 0;  // full, 3 x forward
};

inline per_image_cost baseline_cost(const dpar::llamagen_config& c) {
  const dpar::ar_shape s{c.block.dim, c.block.heads, c.block.ffn_hidden, c.vocab, c.classes + 1, c.tokens};
  const int layers = static_cast<int>(c.layers);
  const auto full = dpar::llamagen_full_flops(s, layers);
  return {dpar::llamagen_parameters(s, layers), dpar::llamagen_paper_flops(s, layers), full.forward, full.training};
}

// With M = mean patches per image.
inline per_image_cost dpar_cost(const dpar::dpar_config& c, double mean_patches) {
  const dpar::ar_shape s{c.block.dim, c.block.heads, c.block.ffn_hidden, c.vocab, c.classes + 1, c.tokens};
  const dpar::dpar_split split{static_cast<int>(c.encoder_layers), static_cast<int>(c.global_layers),
                               static_cast<int>(c.decoder_layers)};
  const auto full = dpar::dpar_full_flops(s, split, mean_patches);
  return {dpar::dpar_parameters(s, split), dpar::dpar_paper_flops(s, split, mean_patches), full.forward,
          full.training};
}

}  // namespace patchzoo::pipeline
