#pragma once
// Tiny inputs of the pipeline-step tests: 28x28 blob images with labels (a Fashion-MNIST stand-in that a
// 4-channel tokenizer learns in tens of steps), a tiny tokenizer config, a scratch directory per test, and
// the Markov token files of the DPAR tests.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>

#include "dpar/tiny_pipeline.hpp"
#include "patchzoo/backend/eigen/eigen_backend.hpp"
#include "patchzoo/core/rng.hpp"
#include "patchzoo/data/image_dataset.hpp"
#include "patchzoo/vq/vq_config.hpp"
#include "support/temp_dir.hpp"

namespace patchzoo::test {

// One bright blob per image whose size grows with the label, so classes differ visibly.
inline data::image_dataset blob_dataset(std::int64_t count, std::uint64_t seed) {
  data::image_dataset ds{28, 28, {}, {}};
  rng_stream r(seed);
  for (std::int64_t i = 0; i < count; ++i) {
    const auto label = static_cast<std::uint8_t>(r.below(3));
    const double cx = 8 + 12 * r.uniform(), cy = 8 + 12 * r.uniform(), radius = 3.0 + 2.5 * label;
    for (std::int64_t y = 0; y < 28; ++y)
      for (std::int64_t x = 0; x < 28; ++x) {
        const double d2 = ((x - cx) * (x - cx) + (y - cy) * (y - cy)) / (radius * radius);
        ds.pixels.push_back(static_cast<std::uint8_t>(std::lround(255.0 * std::exp(-d2))));
      }
    ds.labels.push_back(label);
  }
  return ds;
}

inline vq::vq_config tiny_tokenizer_config() {
  vq::vq_config c;
  c.codebook_size = 16;
  c.code_dim = 3;
  c.hidden = 4;
  c.downsample = 2;  // 32x32 inputs -> 16x16 tokens, as --grid 16
  c.dead_code_steps = 0;
  return c;
}

}  // namespace patchzoo::test
