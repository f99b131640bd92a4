#pragma once
// Deterministic, seeded splits of the official training set into train and validation indices (the
// official test set stays the test split). The permutation is a seeded Fisher-Yates shuffle from the
// library's counter RNG, so a (seed, size) pair names one split forever.
#include <cstdint>
#include <numeric>
#include <vector>

#include "patchzoo/core/error.hpp"
#include "patchzoo/core/rng.hpp"

namespace patchzoo::data {

struct dataset_splits {
  std::vector<std::int64_t> train;
  std::vector<std::int64_t> validation;
};

inline std::vector<std::int64_t> seeded_permutation(std::int64_t n, std::uint64_t seed) {
  std::vector<std::int64_t> p(static_cast<std::size_t>(n));
  std::iota(p.begin(), p.end(), 0);
  rng_stream r(seed);
  for (std::int64_t i = n - 1; i > 0; --i) std::swap(p[i], p[static_cast<std::int64_t>(r.below(i + 1))]);
  return p;
}

// The last `validation` entries of the seeded permutation are validation, the rest train.
inline dataset_splits make_splits(std::int64_t total, std::int64_t validation, std::uint64_t seed) {
  check(validation >= 0 && validation < total, "make_splits", "validation size ", validation,
        " must be in [0, ", total, ")");
  const auto p = seeded_permutation(total, seed);
  return {std::vector<std::int64_t>(p.begin(), p.end() - validation),
          std::vector<std::int64_t>(p.end() - validation, p.end())};
}

}  // namespace patchzoo::data
