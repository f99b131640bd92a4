#pragma once
// Class-conditional sampling as a pipeline step: draw token grids from a baseline or DPAR model (in memory
// or from a checkpoint), decode them with the VQ tokenizer and write a labelled grid PNG, one row per class.
//   auto chosen = parse_classes("0-9", 10);  auto labels = class_labels(chosen, 4);
//   sample_result s = sample_dpar(be, model, &entropy_model, patcher, labels, sc, codebook, on_step);
//   sample_result s = sample_checkpoint(be, "runs/dpar/checkpoint.safetensors", entropy_ckpt, labels, sc, codebook,
//                                       {.threshold = 2.5, .max_patch = 6}, on_step);   // inference overrides
//   tensor<float> images = decode_tokens(be, tokenizer, s.tokens, s.grid_h, s.grid_w);   (tokenizer_step.hpp)
//   write_class_grid("grid.png", images, chosen, 4, 10);
//   data::write_token_file("s.pztok", samples_token_file(s, codebook));
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "patchzoo/data/fashion_mnist.hpp"
#include "patchzoo/dpar/llamagen_import.hpp"
#include "patchzoo/dpar/sampler.hpp"
#include "patchzoo/image/grid.hpp"
#include "patchzoo/image/png.hpp"
#include "patchzoo/pipeline/dpar_step.hpp"
#include "patchzoo/data/token_file.hpp"

namespace patchzoo::pipeline {

// "0-9", "3", "1,4,7" or "0-2,5": classes in [0, classes).
inline std::vector<std::int32_t> parse_classes(const std::string& text, std::int64_t classes) {
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

// Each chosen class `per_class` times, class after class (the grid's rows).
inline std::vector<std::int32_t> class_labels(const std::vector<std::int32_t>& chosen, std::int64_t per_class) {
  std::vector<std::int32_t> labels;
  for (const auto c : chosen) labels.insert(labels.end(), static_cast<std::size_t>(per_class), c);
  return labels;
}

struct sample_result {
  dpar::model_kind kind = dpar::model_kind::baseline;
  dpar::token_rows tokens;  // per image, T tokens
  std::vector<std::int32_t> labels;
  std::int64_t grid_h = 0, grid_w = 0;
  double global_steps_per_image = 0;  // baseline: T; DPAR: mean patches of the sampled images
  double mean_patch_length = 1;
  double threshold = 0;               // DPAR: theta used at sampling time
  std::int64_t max_patch_length = 0;  // DPAR: P_max used at sampling time
  std::vector<std::vector<std::int32_t>> lengths;  // DPAR: each sample's patch lengths
  double seconds = 0;
};

// Inference-time patcher changes (DPAR's Table 6): larger patches without retraining. Negative: as trained.
struct patcher_overrides {
  double threshold = -1;
  int max_patch = -1;
  double static_length = -1;  // the static mode's patch length
};

template <backend B>
  requires transformer_ops<B, float>
sample_result sample_baseline(B& be, dpar::llamagen_model<B, float>& model, const std::vector<std::int32_t>& labels,
                              const dpar::sampling_config& sc, std::int64_t codebook,
                              const std::function<void(std::int64_t)>& on_step = {}) {
  const auto start = std::chrono::steady_clock::now();
  sample_result r;
  r.labels = labels;
  r.grid_w = model.config().row_width;
  r.grid_h = model.config().tokens / r.grid_w;
  r.tokens = dpar::sample_baseline_tokens(be, model, labels, std::min(codebook, model.config().vocab), sc, on_step);
  r.global_steps_per_image = static_cast<double>(model.config().tokens);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

// The entropy model may be null only for the token and static patching modes.
template <backend B>
  requires transformer_ops<B, float>
sample_result sample_dpar(B& be, dpar::dpar_model<B, float>& model, dpar::llamagen_model<B, float>* entropy_model,
                          const dpar::patcher_config& patcher, const std::vector<std::int32_t>& labels,
                          const dpar::sampling_config& sc, std::int64_t codebook,
                          const std::function<void(std::int64_t)>& on_step = {}) {
  const auto start = std::chrono::steady_clock::now();
  sample_result r;
  r.kind = dpar::model_kind::dpar;
  r.labels = labels;
  r.grid_w = model.config().row_width;
  r.grid_h = model.config().tokens / r.grid_w;
  const auto n = static_cast<std::int64_t>(labels.size());
  r.tokens = dpar::sample_dpar_tokens(be, model, entropy_model, patcher, labels, std::min(codebook, model.config().vocab),
                                      sc, on_step, &r.lengths);
  double patches = 0;
  for (const auto& len : r.lengths) patches += static_cast<double>(len.size());
  r.global_steps_per_image = patches / static_cast<double>(n);
  r.mean_patch_length = static_cast<double>(model.config().tokens) * static_cast<double>(n) / patches;
  r.threshold = patcher.threshold;
  r.max_patch_length = patcher.max_patch_length;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

// The kind of model a checkpoint's metadata describes, refused unless it is one that samples classes.
inline dpar::model_kind sampled_kind(const dpar::metadata_map& meta, const std::filesystem::path& checkpoint) {
  const auto kind = dpar::parse_model_kind(dpar::metadata_detail::field(meta, "model.kind"));
  check(kind != dpar::model_kind::entropy, "dpar sample", checkpoint.string(),
        " holds the unconditional entropy model; sample from a baseline or DPAR checkpoint");
  return kind;
}

// A baseline or DPAR training checkpoint; DPAR in entropy modes needs the entropy model's checkpoint
// (other modes ignore it): one of `entropy train`, or an unconditional LlamaGen GPT converted by scripts/convert-llamagen.
template <backend B>
  requires transformer_ops<B, float>
sample_result sample_checkpoint(B& be, const std::filesystem::path& checkpoint, const std::filesystem::path& entropy_model,
                                const std::vector<std::int32_t>& labels, const dpar::sampling_config& sc,
                                std::int64_t codebook, const patcher_overrides& overrides = {},
                                const std::function<void(std::int64_t)>& on_step = {}) {
  const auto kind = sampled_kind(dpar::read_checkpoint_metadata(checkpoint), checkpoint);
  if (kind == dpar::model_kind::baseline) {
    auto model = dpar::load_llamagen(be, checkpoint);
    return sample_baseline(be, *model, labels, sc, codebook, on_step);
  }
  dpar::patcher_config pc;
  auto model = dpar::load_dpar(be, checkpoint, pc);
  if (overrides.threshold >= 0) pc.threshold = overrides.threshold;
  if (overrides.max_patch >= 0) pc.max_patch_length = overrides.max_patch;
  if (overrides.static_length > 0) pc.static_length = overrides.static_length;
  std::unique_ptr<dpar::llamagen_model<B, float>> ent;
  if (!entropy_model.empty() && uses_entropy(pc.mode)) ent = dpar::load_llamagen_or_import(be, entropy_model);
  return sample_dpar(be, *model, ent.get(), pc, labels, sc, codebook, on_step);
}

// One row per chosen class (Fashion-MNIST names when the model has 10 classes), per_class images a row.
inline image::grid_options class_grid(const std::vector<std::int32_t>& chosen, std::int64_t per_class, std::int64_t classes) {
  image::grid_options g;
  g.rows = static_cast<std::int64_t>(chosen.size());
  g.cols = per_class;
  g.scale = 2;
  g.lo = -1.0;
  g.hi = 1.0;
  for (const auto c : chosen)
    g.row_labels.push_back(classes == 10 ? data::fashion_mnist_classes[static_cast<std::size_t>(c)] : std::to_string(c));
  return g;
}

inline void write_class_grid(const std::filesystem::path& path, const tensor<float>& images,
                             const std::vector<std::int32_t>& chosen, std::int64_t per_class, std::int64_t classes) {
  image::write_png(path, image::image_grid(images.cview(), class_grid(chosen, per_class, classes)));
}

inline data::token_file samples_token_file(const sample_result& s, std::int64_t codebook) {
  data::token_file f;
  f.grid_h = s.grid_h;
  f.grid_w = s.grid_w;
  f.codebook_size = codebook;
  for (const auto& row : s.tokens)
    for (const auto t : row) f.tokens.push_back(static_cast<std::uint16_t>(t));
  for (const auto l : s.labels) f.labels.push_back(static_cast<std::uint16_t>(l));
  return f;
}

}  // namespace patchzoo::pipeline
