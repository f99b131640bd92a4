#pragma once
// Host-side checks of the values held by index tensors (key ranges, segment offsets, argmax slots).
// Index values live in host memory here; device backends copy indices to the host first.
#include "patchzoo/backend/contracts/common.hpp"

namespace patchzoo::contract {

// kv_range[Tq, 2]: each query's key interval [begin, end) must satisfy 0 <= begin <= end <= Tk.
inline void kv_ranges(const char* op, const std::int32_t* ranges, std::int64_t tq, std::int64_t tk) {
  for (std::int64_t i = 0; i < tq; ++i) {
    const std::int32_t begin = ranges[2 * i], end = ranges[2 * i + 1];
    check(0 <= begin && begin <= end && end <= tk, op, "kv_range of query ", i, " is [", begin, ", ", end,
          "), which is not a sub-interval of the ", tk, " keys");
  }
}

// offsets[S+1] split `rows` rows into segments: non-decreasing, within [0, rows].
inline void segment_offsets(const char* op, const std::int32_t* offsets, std::int64_t count, std::int64_t rows) {
  for (std::int64_t s = 0; s < count; ++s) {
    check(offsets[s] >= 0 && offsets[s] <= rows, op, "offset ", offsets[s], " at position ", s,
          " is outside [0, ", rows, "]");
    if (s > 0)
      check(offsets[s] >= offsets[s - 1], op, "offsets decrease at position ", s, " (", offsets[s - 1], " then ",
            offsets[s], ")");
  }
}

// Saved argmax slots index `limit` elements; -1 marks "no element" where allowed.
inline void argmax_slots(const char* op, const std::int32_t* slots, std::int64_t n, std::int64_t limit,
                         bool allow_none) {
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int32_t s = slots[i];
    check((allow_none && s == -1) || (s >= 0 && s < limit), op, "argmax value ", s, " at position ", i,
          " is out of range [0, ", limit, ")");
  }
}

}  // namespace patchzoo::contract
