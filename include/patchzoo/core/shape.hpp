#pragma once
// Shapes and strides up to rank 4, row-major, counted in elements (not bytes).
#include <array>
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string>

#include "patchzoo/core/error.hpp"

namespace patchzoo {

inline constexpr int max_rank = 4;

struct shape_t {
  int rank = 0;
  std::array<std::int64_t, max_rank> dims{1, 1, 1, 1};

  shape_t() = default;
  shape_t(std::initializer_list<std::int64_t> list) {
    check(list.size() <= max_rank, "shape", "rank ", list.size(), " exceeds the maximum of ", max_rank);
    for (auto d : list) {
      check(d >= 0, "shape", "negative dimension ", d);
      dims[rank++] = d;
    }
  }

  std::int64_t operator[](int axis) const { return dims[axis]; }
  std::int64_t& operator[](int axis) { return dims[axis]; }

  std::int64_t numel() const {
    std::int64_t n = 1;
    for (int i = 0; i < rank; ++i) n *= dims[i];
    return n;
  }

  // Product of the dims before the last one: the "rows" of a row-major matrix view.
  std::int64_t rows() const { return rank == 0 ? 1 : numel() / (dims[rank - 1] == 0 ? 1 : dims[rank - 1]); }
  std::int64_t last() const { return rank == 0 ? 1 : dims[rank - 1]; }

  friend bool operator==(const shape_t& a, const shape_t& b) {
    if (a.rank != b.rank) return false;
    for (int i = 0; i < a.rank; ++i)
      if (a.dims[i] != b.dims[i]) return false;
    return true;
  }

  std::string str() const {
    std::string s = "[";
    for (int i = 0; i < rank; ++i) s.append(i ? ", " : "").append(std::to_string(dims[i]));
    return s.append("]");
  }

  // Error messages take the shape itself: check() formats its parts only when the check fails, while a
  // str() argument would build a string on every call of every op.
  friend std::ostream& operator<<(std::ostream& os, const shape_t& s) { return os << s.str(); }
};

inline std::array<std::int64_t, max_rank> contiguous_strides(const shape_t& s) {
  std::array<std::int64_t, max_rank> st{0, 0, 0, 0};
  std::int64_t acc = 1;
  for (int i = s.rank - 1; i >= 0; --i) {
    st[i] = acc;
    acc *= s.dims[i];
  }
  return st;
}

}  // namespace patchzoo
