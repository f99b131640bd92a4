#pragma once
// What every sampler stepper hands to sample_tokens(): the logits of one position for every image.
#include <cstdint>
#include <vector>

#include "patchzoo/core/tensor.hpp"

namespace patchzoo::dpar {

// cond [n, vocab], and uncond [n, vocab] (the null class) when guided.
struct step_logits {
  tensor<float> cond, uncond;
};

using token_rows = std::vector<std::vector<std::int32_t>>;  // per image: the tokens sampled so far

// Splits logits [sequences, vocab] (the conditional half first, then the null-class half when guided).
inline step_logits split_halves(const tensor<float>& all, std::int64_t images, bool guided) {
  const std::int64_t v = all.dim(1);
  step_logits out{tensor<float>(shape_t{images, v}), guided ? tensor<float>(shape_t{images, v}) : tensor<float>()};
  std::copy_n(all.data(), images * v, out.cond.data());
  if (guided) std::copy_n(all.data() + images * v, images * v, out.uncond.data());
  return out;
}

}  // namespace patchzoo::dpar
