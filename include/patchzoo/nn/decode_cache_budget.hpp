#pragma once
// How much of the CPU's cache a decode step's working set may take and stay there from step to step. A
// backend whose decoding gains from that names decode_cache_budget_bytes(): then weights that fit are
// multiplied through transposed copies from fewer rows (transposed_weights.hpp), and sampling decodes
// its images in groups whose KV caches fit (dpar/sampler.hpp). GPU backends name none.
#include <concepts>
#include <cstddef>

namespace patchzoo::nn {

template <class B>
concept has_decode_cache_budget = requires {
  { B::decode_cache_budget_bytes() } -> std::convertible_to<std::size_t>;
};

// Whether `bytes` stay in the backend's cache between decode steps; never on a backend without a budget.
template <class B>
bool fits_decode_cache(std::size_t bytes) {
  if constexpr (has_decode_cache_budget<B>) return bytes <= B::decode_cache_budget_bytes();
  return false;
}

}  // namespace patchzoo::nn
