#pragma once
// Shared pieces of the finite-difference gradient tests (xtensor backend, double).
#include <doctest/doctest.h>

#include <cstdint>

#include "patchzoo/backend/xtensor/xtensor_backend.hpp"
#include "support/compare.hpp"
#include "support/grad_check.hpp"
#include "support/random.hpp"

namespace patchzoo::test {

using dtensor = tensor<double>;

// Gradient buffers start at this value, not 0, so that a backward that assigns instead of
// accumulating fails the check.
inline constexpr double grad_prefill = 0.375;

inline dtensor prefilled_grad(shape_t s) {
  dtensor g(s);
  for (std::int64_t i = 0; i < g.numel(); ++i) g[i] = grad_prefill;
  return g;
}

// What a backward pass added to a prefilled gradient buffer.
inline dtensor accumulated(const dtensor& g) {
  dtensor d = g.clone();
  for (std::int64_t i = 0; i < d.numel(); ++i) d[i] -= grad_prefill;
  return d;
}

// The weights w of the loss sum(out * w), from their own seed so they differ from every input.
inline dtensor loss_weights(shape_t s, std::uint64_t seed = 9001) { return random_tensor<double>(s, seed); }

}  // namespace patchzoo::test
