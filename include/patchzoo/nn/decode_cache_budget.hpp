#pragma once
// How much of the CPU's cache a decode step's working set may take and stay there from step to step. A
// backend whose decoding gains from that names decode_cache_budget_bytes(): then weights that fit are
// multiplied through transposed copies from fewer rows (transposed_weights.hpp), and sampling decodes
// its images in groups whose KV caches fit (dpar/sampler.hpp). GPU backends name none.
#include <concepts>
#include <cstddef>
#include <cstdint>

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

// A backend may also name decode_full_rate_rows: from how many rows its decode projections reach their
// full rate with the weights in cache. More rows than that gain no arithmetic rate, only cache traffic.
template <class B>
concept has_decode_full_rate_rows = requires {
  { B::decode_full_rate_rows } -> std::convertible_to<std::int64_t>;
};

}  // namespace patchzoo::nn
