#pragma once
// Shared pieces of the VQ tokenizer tests: a tiny configuration and small seeded image batches.
#include <doctest/doctest.h>

#include "patchzoo/backend/eigen/eigen_backend.hpp"
#include "patchzoo/backend/xtensor/xtensor_backend.hpp"
#include "patchzoo/vq/vq_tokenizer.hpp"
#include "grad/grad_fixture.hpp"
#include "support/compare.hpp"
#include "support/grad_check.hpp"
#include "support/random.hpp"

namespace patchzoo::test {

inline vq::vq_config tiny_vq_config(std::int64_t downsample = 2) {
  vq::vq_config c;
  c.codebook_size = 16;
  c.code_dim = 3;
  c.hidden = 4;
  c.downsample = downsample;
  c.dead_code_steps = 0;
  return c;
}

// Smooth seeded images in [-1, 1]: a few blobs, so that a tiny autoencoder can learn them.
template <class T>
tensor<T> blob_images(std::int64_t count, std::int64_t side, std::uint64_t seed) {
  tensor<T> t(shape_t{count, 1, side, side});
  rng_stream r(seed);
  for (std::int64_t i = 0; i < count; ++i) {
    const double cx = side * r.uniform(), cy = side * r.uniform(), radius = side * (0.15 + 0.25 * r.uniform());
    for (std::int64_t y = 0; y < side; ++y)
      for (std::int64_t x = 0; x < side; ++x) {
        const double d2 = ((x - cx) * (x - cx) + (y - cy) * (y - cy)) / (radius * radius);
        t[(i * side + y) * side + x] = static_cast<T>(2.0 * std::exp(-d2) - 1.0);
      }
  }
  return t;
}

}  // namespace patchzoo::test
