#pragma once
// Seeded test inputs: the same bits on every backend, from the library's counter-based RNG.
#include <cstdint>
#include <vector>

#include "patchzoo/core/rng.hpp"
#include "patchzoo/core/tensor.hpp"

namespace patchzoo::test {

template <class T>
tensor<T> random_tensor(shape_t s, std::uint64_t seed, double lo = -1.0, double hi = 1.0) {
  tensor<T> t(s);
  rng_stream r(seed);
  for (std::int64_t i = 0; i < t.numel(); ++i) t[i] = static_cast<T>(lo + (hi - lo) * r.uniform());
  return t;
}

inline tensor<std::int32_t> random_ids(shape_t s, std::int32_t vocab, std::uint64_t seed) {
  tensor<std::int32_t> t(s);
  rng_stream r(seed);
  for (std::int64_t i = 0; i < t.numel(); ++i) t[i] = static_cast<std::int32_t>(r.below(static_cast<std::uint64_t>(vocab)));
  return t;
}

inline tensor<std::int32_t> int_tensor(shape_t s, const std::vector<std::int32_t>& values) { return tensor<std::int32_t>(s, values); }

// Converts between element types (float inputs for the backends, double for the oracle).
template <class To, class From, class M>
tensor<To> cast(const tensor<From, M>& src) {
  tensor<To> t(src.shape());
  for (std::int64_t i = 0; i < t.numel(); ++i) t[i] = static_cast<To>(src[i]);
  return t;
}

}  // namespace patchzoo::test
