#pragma once
// One evaluation point: draw class-balanced samples from a baseline or DPAR checkpoint (optionally with
// the patcher changed at inference time: pipeline::sample_checkpoint), decode them with the VQ tokenizer,
// bring them to the classifier's 28x28 [0, 1] input and score them (eval/sample_metrics.hpp).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "patchzoo/data/image_dataset.hpp"
#include "patchzoo/dpar/model_checkpoint.hpp"
#include "patchzoo/eval/sample_metrics.hpp"
#include "patchzoo/image/resize.hpp"
#include "patchzoo/pipeline/sample_step.hpp"
#include "patchzoo/pipeline/tokenizer_step.hpp"

namespace patchzoo::dpar::experiment {

// Tokenizer images [n, 1, S, S] in [-1, 1] (S = 32: 28 padded by 2 per side; S = 48: 28 resized) back to
// the classifier's [n, 1, 28, 28] in [0, 1], undoing tokenizer_input.
inline tensor<float> to_classifier_images(const tensor<float>& decoded) {
  check(decoded.rank() == 4 && decoded.dim(1) == 1 && decoded.dim(2) == decoded.dim(3) &&
            (decoded.dim(2) == 32 || decoded.dim(2) == 48),
        "to_classifier_images", "expected tokenizer images [n, 1, 32|48, 32|48], got ", decoded.shape().str());
  const std::int64_t n = decoded.dim(0), s = decoded.dim(2), side = 28;
  tensor<float> out(shape_t{n, 1, side, side});
  std::vector<float> resized(static_cast<std::size_t>(side * side));
  for (std::int64_t i = 0; i < n; ++i) {
    const float* src = decoded.data() + i * s * s;
    if (s == 32) {
      for (std::int64_t y = 0; y < side; ++y)
        std::copy(src + (y + 2) * s + 2, src + (y + 2) * s + 2 + side, resized.data() + y * side);
    } else {
      image::resize_bicubic(src, s, s, resized.data(), side, side);
    }
    for (std::int64_t p = 0; p < side * side; ++p)
      out[i * side * side + p] = std::clamp(0.5f * (resized[static_cast<std::size_t>(p)] + 1.0f), 0.0f, 1.0f);
  }
  return out;
}

// The first n images of a Fashion-MNIST split as classifier input [n, 1, 28, 28] in [0, 1].
inline tensor<float> classifier_images(const data::image_dataset& ds, std::int64_t n) {
  check(n >= 1 && n <= ds.size() && ds.rows == 28 && ds.cols == 28, "classifier_images", "asked for ", n,
        " 28x28 images of a set of ", ds.size(), " ", ds.rows, "x", ds.cols, " images");
  tensor<float> out(shape_t{n, 1, 28, 28});
  for (std::int64_t i = 0; i < n * 28 * 28; ++i) out[i] = static_cast<float>(ds.pixels[static_cast<std::size_t>(i)]) / 255.0f;
  return out;
}

struct evaluation {
  eval::sample_metrics metrics;
  double global_steps_per_image = 0;  // baseline: T; DPAR: mean patches of the samples
  double mean_patch_length = 1;
  double sample_seconds = 0;
  tensor<float> images;  // the samples, classifier input, class-major (labels below)
  std::vector<std::int32_t> labels;
};

template <backend B>
struct evaluation_context {
  const eval::zoo_features& classifier;
  const eval::reference_set& reference;
  vq::vq_tokenizer<B, float>& tokenizer;
  sampling_config sampling;
};

template <backend B>
  requires transformer_ops<B, float> && vq::vq_ops<B, float>
evaluation evaluate_checkpoint(B& be, evaluation_context<B>& ctx, const std::filesystem::path& checkpoint,
                               const std::filesystem::path& entropy_checkpoint, std::int64_t samples,
                               const pipeline::patcher_overrides& change = {}) {
  std::vector<std::int32_t> classes(10);
  for (std::int32_t c = 0; c < 10; ++c) classes[static_cast<std::size_t>(c)] = c;
  const auto labels = pipeline::class_labels(classes, samples / 10);
  const auto codebook = ctx.tokenizer.config().codebook_size;
  const auto s = pipeline::sample_checkpoint(be, checkpoint, entropy_checkpoint, labels, ctx.sampling, codebook, change);
  evaluation e;
  e.images = to_classifier_images(pipeline::decode_tokens(be, ctx.tokenizer, s.tokens, s.grid_h, s.grid_w));
  e.labels = labels;
  e.metrics = eval::evaluate_samples(ctx.classifier, ctx.reference, e.images, labels);
  e.global_steps_per_image = s.global_steps_per_image;
  e.mean_patch_length = s.mean_patch_length;
  e.sample_seconds = s.seconds;
  return e;
}

// `columns` samples of each class from a class-major evaluation set, one row per class, as a PNG.
inline void write_sample_grid(const std::filesystem::path& path, const evaluation& e, std::int64_t columns) {
  const std::int64_t per_class = e.images.dim(0) / 10, pixels = 28 * 28;
  check(columns >= 1 && columns <= per_class, "write_sample_grid", columns, " columns, but only ", per_class,
        " samples per class");
  tensor<float> picked(shape_t{10 * columns, 1, 28, 28});
  for (std::int64_t c = 0; c < 10; ++c)
    for (std::int64_t k = 0; k < columns; ++k)
      std::copy(e.images.data() + (c * per_class + k) * pixels, e.images.data() + (c * per_class + k + 1) * pixels,
                picked.data() + (c * columns + k) * pixels);
  std::vector<std::int32_t> classes(10);
  for (std::int32_t c = 0; c < 10; ++c) classes[static_cast<std::size_t>(c)] = c;
  image::grid_options g;
  g.rows = 10;
  g.cols = columns;
  g.scale = 2;
  for (const auto c : classes) g.row_labels.push_back(data::fashion_mnist_classes[static_cast<std::size_t>(c)]);
  image::write_png(path, image::image_grid(picked.cview(), g));
}

}  // namespace patchzoo::dpar::experiment
