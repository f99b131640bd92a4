#pragma once
// Contracts on index tensors whose values are ranges: attention kv_range rows and segment offsets.
// Values are read from host memory; device backends copy the index tensor to the host first.
#include <cstdint>

#include "patchzoo/core/error.hpp"

namespace patchzoo::contract {

// ranges[i] = {begin, end} with 0 <= begin <= end <= keys, for each of `rows` queries.
inline void kv_ranges_in_bounds(const char* op, const std::int32_t* ranges, std::int64_t rows, std::int64_t keys) {
  for (std::int64_t i = 0; i < rows; ++i) {
    const std::int32_t begin = ranges[2 * i], end = ranges[2 * i + 1];
    check(0 <= begin && begin <= end && end <= keys, op, "kv_range row ", i, " is [", begin, ", ", end,
          "), expected 0 <= begin <= end <= ", keys, " (the number of keys)");
  }
}

// offsets[0..count) non-decreasing within [0, rows]: segment s covers rows offsets[s]..offsets[s+1].
inline void segment_offsets_in_bounds(const char* op, const std::int32_t* offsets, std::int64_t count,
                                      std::int64_t rows) {
  for (std::int64_t s = 0; s < count; ++s) {
    check(offsets[s] >= 0 && offsets[s] <= rows, op, "offsets value ", offsets[s], " at position ", s,
          " is out of range [0, ", rows, "]");
    if (s > 0)
      check(offsets[s - 1] <= offsets[s], op, "offsets decrease at position ", s, " (", offsets[s - 1], " then ",
            offsets[s], ")");
  }
}

}  // namespace patchzoo::contract
