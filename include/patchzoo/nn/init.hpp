#pragma once
// Parameter initialisation drawn on the host from the counter-based RNG, then copied into backend
// memory: every backend starts from bit-identical weights.
#include <cstdint>

#include "patchzoo/core/rng.hpp"
#include "patchzoo/nn/param_arena.hpp"

namespace patchzoo::nn {

// Matrices ~ N(0, std^2); vectors (norm gains) = 1. Each slice draws from its own counter range, so
// adding a parameter does not change the others' values.
template <backend B, real T>
void initialize_params(param_arena<B, T>& arena, std::uint64_t seed, double std) {
  const auto& layout = arena.layout();
  tensor<T> host(shape_t{layout.total()});
  for (const auto& s : layout.slices()) {
    for (std::int64_t i = 0; i < s.shape.numel(); ++i)
      host[s.offset + i] = s.shape.rank >= 2
                               ? static_cast<T>(std * normal01(seed, static_cast<std::uint64_t>(s.offset + i)))
                               : T(1);
  }
  B::memory::copy_from_host(arena.flat().data, host.data(), host.bytes());
}

}  // namespace patchzoo::nn
