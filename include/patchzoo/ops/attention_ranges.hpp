#pragma once
// Host helpers that build attention_forward's kv_range[Tq, 2] (the key interval [begin, end) of each
// query) for the three ways the library attends: packed causal self-attention, packed full attention
// and segment cross-attention. Offsets are the usual cumulative sequence boundaries.
#include <cstdint>
#include <span>
#include <vector>

#include "patchzoo/core/tensor.hpp"

namespace patchzoo {

namespace ranges_detail {

// offsets[0..S] must be non-decreasing; packed self-attention also needs offsets[0] == 0, since
// query i is token i of the packed buffer.
inline void check_offsets(const char* op, std::span<const std::int32_t> offsets, bool from_zero) {
  check(!offsets.empty(), op, "offsets must hold at least one entry");
  check(offsets[0] >= 0, op, "first offset ", offsets[0], " is negative");
  if (from_zero) check(offsets[0] == 0, op, "first offset is ", offsets[0], ", expected 0");
  for (std::size_t s = 1; s < offsets.size(); ++s)
    check(offsets[s] >= offsets[s - 1], op, "offsets decrease at position ", s, " (", offsets[s - 1], " then ",
          offsets[s], ")");
}

}  // namespace ranges_detail

// Packed causal self-attention: query i of sequence s sees keys [offsets[s], i + 1).
inline tensor<std::int32_t> causal_ranges(std::span<const std::int32_t> offsets) {
  ranges_detail::check_offsets("causal_ranges", offsets, true);
  tensor<std::int32_t> ranges(shape_t{offsets.back(), 2});
  for (std::size_t s = 0; s + 1 < offsets.size(); ++s)
    for (std::int32_t i = offsets[s]; i < offsets[s + 1]; ++i) {
      ranges[2 * i] = offsets[s];
      ranges[2 * i + 1] = i + 1;
    }
  return ranges;
}

// Packed full (bidirectional) attention: query i of sequence s sees its whole sequence.
inline tensor<std::int32_t> block_ranges(std::span<const std::int32_t> offsets) {
  ranges_detail::check_offsets("block_ranges", offsets, true);
  tensor<std::int32_t> ranges(shape_t{offsets.back(), 2});
  for (std::size_t s = 0; s + 1 < offsets.size(); ++s)
    for (std::int32_t i = offsets[s]; i < offsets[s + 1]; ++i) {
      ranges[2 * i] = offsets[s];
      ranges[2 * i + 1] = offsets[s + 1];
    }
  return ranges;
}

// Segment cross-attention: S + 1 offsets give S queries; query p sees keys [offsets[p], offsets[p + 1]).
inline tensor<std::int32_t> segment_ranges(std::span<const std::int32_t> offsets) {
  ranges_detail::check_offsets("segment_ranges", offsets, false);
  const std::int64_t segments = static_cast<std::int64_t>(offsets.size()) - 1;
  tensor<std::int32_t> ranges(shape_t{segments, 2});
  for (std::int64_t p = 0; p < segments; ++p) {
    ranges[2 * p] = offsets[p];
    ranges[2 * p + 1] = offsets[p + 1];
  }
  return ranges;
}

inline tensor<std::int32_t> causal_ranges(const std::vector<std::int32_t>& offsets) {
  return causal_ranges(std::span<const std::int32_t>(offsets));
}
inline tensor<std::int32_t> block_ranges(const std::vector<std::int32_t>& offsets) {
  return block_ranges(std::span<const std::int32_t>(offsets));
}
inline tensor<std::int32_t> segment_ranges(const std::vector<std::int32_t>& offsets) {
  return segment_ranges(std::span<const std::int32_t>(offsets));
}

}  // namespace patchzoo
