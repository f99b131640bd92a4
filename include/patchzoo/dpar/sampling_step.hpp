#pragma once
// What every sampler stepper hands to sample_tokens(): the logits of one position for every image.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "patchzoo/core/tensor.hpp"

namespace patchzoo::dpar {

// Whether each image also runs a null-class sequence, for classifier-free guidance (CFG).
enum class guidance { none, classifier_free };

// Sequences per image: the class's, and under CFG the null class's.
constexpr int halves(guidance g) { return g == guidance::classifier_free ? 2 : 1; }

// cond [n, vocab], and uncond [n, vocab] (the null class) under CFG.
struct step_logits {
  tensor<float> cond, uncond;
};

using token_rows = std::vector<std::vector<std::int32_t>>;  // per image: the tokens sampled so far

// What decoding holds in memory: the weights every step reads, and the KV caches of one image (both
// halves under guidance); and the fewest rows per image that any of a step's projections multiplies
// (the baseline's 2 under CFG, DPAR's entropy model and encoder 1). images_per_group() sizes its groups
// of images from it.
struct decode_footprint {
  std::size_t weight_bytes = 0, cache_bytes_per_image = 0;
  std::int64_t rows_per_image = 1;
};

// Splits logits [sequences, vocab] (the conditional half first, then the null-class half under CFG).
inline step_logits split_halves(const tensor<float>& all, std::int64_t images, guidance g) {
  const bool guided = g == guidance::classifier_free;
  const std::int64_t v = all.dim(1);
  step_logits out{tensor<float>(shape_t{images, v}), guided ? tensor<float>(shape_t{images, v}) : tensor<float>()};
  std::copy_n(all.data(), images * v, out.cond.data());
  if (guided) std::copy_n(all.data() + images * v, images * v, out.uncond.data());
  return out;
}

}  // namespace patchzoo::dpar
