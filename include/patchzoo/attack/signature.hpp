#pragma once
// A served model's identity as a client can see it: its outputs on a fixed set of probe images. Every
// model of a zoo answers the same probe differently (distinct weights give distinct probabilities), so
// the rounded probability vectors name the model whatever spec selected it.
#include <cmath>
#include <cstdint>
#include <string>

#include "patchzoo/core/error.hpp"
#include "patchzoo/core/tensor.hpp"

namespace patchzoo::attack {

using signature = std::string;

// Probabilities are rounded to 1e-4, so signatures survive float printing round trips and still
// differ between models; rows [first, first + count) of probabilities [B, 10] are the probes' answers.
inline signature signature_of(const tensor<float>& probabilities, std::int64_t first, std::int64_t count) {
  check(probabilities.rank() == 2 && first >= 0 && count >= 1 && first + count <= probabilities.dim(0), "signature_of",
        "rows [", first, ", ", first + count, ") are outside probabilities ", probabilities.shape().str());
  const std::int64_t classes = probabilities.dim(1);
  signature s;
  for (std::int64_t r = first; r < first + count; ++r) {
    for (std::int64_t c = 0; c < classes; ++c) {
      s += std::to_string(std::lround(static_cast<double>(probabilities[r * classes + c]) * 1e4));
      s += c + 1 < classes ? ',' : ';';
    }
  }
  return s;
}

// images [N, 1, 28, 28] followed by the probes [M, 1, 28, 28]: one request carrying both, so every
// response can be checked against a known signature.
inline tensor<float> append_probes(const tensor<float>& images, const tensor<float>& probes) {
  check(images.rank() == 4 && probes.rank() == 4 && images.dim(1) == probes.dim(1) && images.dim(2) == probes.dim(2) &&
            images.dim(3) == probes.dim(3),
        "append_probes", "images ", images.shape().str(), " and probes ", probes.shape().str(), " differ in image shape");
  tensor<float> out(shape_t{images.dim(0) + probes.dim(0), images.dim(1), images.dim(2), images.dim(3)});
  std::copy(images.data(), images.data() + images.numel(), out.data());
  std::copy(probes.data(), probes.data() + probes.numel(), out.data() + images.numel());
  return out;
}

// Rows [first, first + count) of a [N, ...] tensor, as a new tensor.
inline tensor<float> slice_rows(const tensor<float>& t, std::int64_t first, std::int64_t count) {
  check(t.rank() >= 1 && first >= 0 && count >= 1 && first + count <= t.dim(0), "slice_rows", "rows [", first, ", ",
        first + count, ") are outside ", t.shape().str());
  shape_t s = t.shape();
  s.dims[0] = count;
  tensor<float> out(s);
  const std::int64_t row = t.numel() / t.dim(0);
  std::copy(t.data() + first * row, t.data() + (first + count) * row, out.data());
  return out;
}

}  // namespace patchzoo::attack
