#pragma once
// DPAR's entropy model as a pipeline step (arXiv 2512.21867): train the unconditional LlamaGen on a token
// file, compute every image's next-token entropies, and fit the patcher threshold to a mean patch length.
//   training_summary s = train_entropy_model(be, tokens, {.dim = 128, .layers = 2, .heads = 2}, recipe, out_dir,
//                                            resume, hooks);
//   entropy_pass p = compute_entropies(be, model, tokens, 64, on_progress);   // p.entropies: an entropy file
//   entropy_statistics st = summarize_entropies(p.entropies);                // mean and quantiles of H_t, t >= 1
//   // theta, mean length and M for a mean patch length of 1.81, P_max 4, patches cut at row ends:
//   patch_threshold th = threshold_for_mean_length(p.entropies, 1.81, 4, dpar::patching_mode::entropy_row_boundary);
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "patchzoo/dpar/entropy.hpp"
#include "patchzoo/dpar/entropy_file.hpp"
#include "patchzoo/dpar/llamagen_model.hpp"
#include "patchzoo/dpar/model_metadata.hpp"
#include "patchzoo/dpar/patcher.hpp"
#include "patchzoo/pipeline/model_training.hpp"

namespace patchzoo::pipeline {

struct entropy_model_options {
  std::int64_t dim = 128, layers = 4, heads = 4, ffn = 0;  // ffn 0: round_up_256(8 dim / 3)
};

inline dpar::llamagen_config entropy_model_config(const data::token_file& data, const entropy_model_options& o,
                                                  double dropout) {
  dpar::llamagen_config c;
  c.conditional = false;
  c.vocab = data.codebook_size;
  c.classes = 1;  // unused by the unconditional model
  c.tokens = data.tokens_per_image();
  c.row_width = data.grid_w;
  c.layers = o.layers;
  c.block = transformer_block(o.dim, o.heads, o.ffn);
  c.token_dropout = c.label_dropout = c.block_dropout = static_cast<float>(dropout);
  return c;
}

// Trains a fresh model (or resumes the one in out_dir); the checkpoint rebuilds it (dpar::load_llamagen).
template <backend B>
  requires transformer_ops<B, float>
training_summary train_entropy_model(B& be, const data::token_file& data, const entropy_model_options& o,
                                     const train_recipe& recipe, const std::filesystem::path& out_dir, existing_checkpoint existing,
                                     const training_hooks& hooks = {}) {
  dpar::llamagen_model<B, float> model(entropy_model_config(data, o, recipe.dropout), recipe.seed);
  return run_training(be, model, data, recipe, out_dir, existing, "entropy train", hooks);
}

struct entropy_pass {
  double mean_nll = 0;          // nats per predicted token, mean over images
  dpar::entropy_file entropies;  // per image: value t = H_t; value 0 = 0 (H_0 for a conditional model)
  double seconds = 0;
};

// Teacher-forced entropies of every image, `batch` images per forward; on_progress(done) counts images.
template <backend B>
  requires transformer_ops<B, float>
entropy_pass compute_entropies(B& be, dpar::llamagen_model<B, float>& model, const data::token_file& data,
                               std::int64_t batch, const std::function<void(std::int64_t)>& on_progress = {}) {
  const auto& c = model.config();
  check(c.tokens == data.tokens_per_image() && c.row_width == data.grid_w && c.vocab >= data.codebook_size, "entropy",
        "the model (", c.tokens, " tokens in rows of ", c.row_width, ", vocab ", c.vocab, ") does not fit the ",
        data.grid_h, "x", data.grid_w, " token file over ", data.codebook_size, " codes");
  check(batch >= 1 && data.count() >= 1, "entropy", "needs images and a positive batch (", batch, ")");
  entropy_pass out;
  out.entropies = {data.grid_h, data.grid_w, std::vector<float>(static_cast<std::size_t>(data.count() * c.tokens), 0.0f)};
  const auto start = std::chrono::steady_clock::now();
  for (std::int64_t begin = 0; begin < data.count(); begin += batch) {
    const std::int64_t end = std::min(data.count(), begin + batch);
    // A class-conditional GPT (a converted LlamaGen c2i model) reads the CFG null class: its unconditional
    // density, which also predicts x_0, so H_0 is filled too.
    dpar::token_grid_batch g{c.tokens, data.grid_w, {data.image(begin), data.image(end)},
                             c.conditional ? std::vector<std::int32_t>(static_cast<std::size_t>(end - begin),
                                                                       static_cast<std::int32_t>(c.classes))
                                           : std::vector<std::int32_t>{}};
    out.mean_nll += model.forward(be, g) * static_cast<double>(end - begin);
    const auto lg = model.logits(be);
    const std::span<float> values(out.entropies.values);
    for (std::int64_t i = begin; i < end; ++i)
      dpar::entropies_by_predicted_token(
          lg.cview().slice_rows((i - begin) * c.slots(), (i - begin + 1) * c.slots()), c.first_predicted_token(),
          values.subspan(static_cast<std::size_t>(i * c.tokens), static_cast<std::size_t>(c.tokens)));
    if (on_progress) on_progress(end);
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out.mean_nll /= static_cast<double>(data.count());
  return out;
}

struct entropy_statistics {
  double mean = 0;
  double q10 = 0, q25 = 0, q50 = 0, q75 = 0, q90 = 0;
};

// Over H_t for t >= 1 of every image (H_0 is never predicted).
inline entropy_statistics summarize_entropies(const dpar::entropy_file& e) {
  check(e.count() >= 1 && e.tokens_per_image() >= 2, "summarize_entropies", "no entropies");
  std::vector<float> h;
  for (std::int64_t i = 0; i < e.count(); ++i) h.insert(h.end(), e.image(i).begin() + 1, e.image(i).end());
  const auto quantile = [&](double q) {
    const auto k = static_cast<std::size_t>(q * static_cast<double>(h.size() - 1));
    std::nth_element(h.begin(), h.begin() + static_cast<std::ptrdiff_t>(k), h.end());
    return static_cast<double>(h[k]);
  };
  entropy_statistics s;
  s.mean = std::accumulate(h.begin(), h.end(), 0.0) / static_cast<double>(h.size());
  s.q10 = quantile(0.10);
  s.q25 = quantile(0.25);
  s.q50 = quantile(0.50);
  s.q75 = quantile(0.75);
  s.q90 = quantile(0.90);
  return s;
}

struct patch_threshold {
  dpar::patcher_config patcher;  // mode, P_max, row width and the fitted theta
  double mean_length = 0;        // T / M over the data
  double mean_patches = 0;       // M
  double token_reduction = 0;    // 1 - M / T: the global sequence's saving
};

// The patcher of an entropy mode (entropy or entropy_row_boundary) whose theta gives the mean patch length
// closest to `target` on these entropies.
inline patch_threshold threshold_for_mean_length(const dpar::entropy_file& e, double target, int max_patch,
                                                 dpar::patching_mode mode) {
  check(mode == dpar::patching_mode::entropy || mode == dpar::patching_mode::entropy_row_boundary,
        "threshold_for_mean_length", "patching mode ", dpar::mode_name(mode), " has no threshold");
  patch_threshold out;
  out.patcher.mode = mode;
  out.patcher.max_patch_length = max_patch;
  out.patcher.row_width = static_cast<int>(e.grid_w);
  out.patcher.threshold = dpar::find_threshold(out.patcher, e.values, e.tokens_per_image(), target);
  out.mean_length = dpar::mean_patch_length(out.patcher, e.values, e.tokens_per_image());
  out.mean_patches = static_cast<double>(e.tokens_per_image()) / out.mean_length;
  out.token_reduction = 1.0 - 1.0 / out.mean_length;
  return out;
}

}  // namespace patchzoo::pipeline
