#pragma once
// Host-side RoPE tables: cos/sin[T, head_dim/2] for interleaved pairs. Each pair k of a token gets one
// position along one axis; the layouts below (1-D, 2-D grid) fill that assignment. Later layouts
// (DPAR's dynamic 3-d/4-d) are further fillers over the same rope_table type.
#include <cmath>
#include <cstdint>
#include <vector>

#include "patchzoo/core/tensor.hpp"

namespace patchzoo::nn {

template <class T>
struct rope_table {
  tensor<T> cos;
  tensor<T> sin;
};

// 1-D RoPE: pair k of the token at position p turns by p * base^(-2k / head_dim).
template <class T>
rope_table<T> rope_table_1d(const std::vector<std::int64_t>& positions, int head_dim, double base = 10000.0) {
  check(head_dim > 0 && head_dim % 2 == 0, "rope_table_1d", "head_dim ", head_dim, " must be positive and even");
  const std::int64_t n = static_cast<std::int64_t>(positions.size()), pairs = head_dim / 2;
  rope_table<T> t{tensor<T>(shape_t{n, pairs}), tensor<T>(shape_t{n, pairs})};
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t k = 0; k < pairs; ++k) {
      const double angle = static_cast<double>(positions[i]) * std::pow(base, -2.0 * k / head_dim);
      t.cos[i * pairs + k] = static_cast<T>(std::cos(angle));
      t.sin[i * pairs + k] = static_cast<T>(std::sin(angle));
    }
  return t;
}

// 2-D RoPE over a grid (LlamaGen): the first half of the pairs turn with the row, the second half with
// the column, each half with frequencies base^(-k / (pairs/2)).
template <class T>
rope_table<T> rope_table_2d(const std::vector<std::int64_t>& rows, const std::vector<std::int64_t>& cols,
                            int head_dim, double base = 10000.0) {
  check(head_dim % 4 == 0, "rope_table_2d", "head_dim ", head_dim, " must be a multiple of 4");
  check(rows.size() == cols.size(), "rope_table_2d", rows.size(), " rows but ", cols.size(), " columns");
  const std::int64_t n = static_cast<std::int64_t>(rows.size()), pairs = head_dim / 2, half = pairs / 2;
  rope_table<T> t{tensor<T>(shape_t{n, pairs}), tensor<T>(shape_t{n, pairs})};
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t k = 0; k < pairs; ++k) {
      const double pos = static_cast<double>(k < half ? rows[i] : cols[i]);
      const double angle = pos * std::pow(base, -static_cast<double>(k % half) / half);
      t.cos[i * pairs + k] = static_cast<T>(std::cos(angle));
      t.sin[i * pairs + k] = static_cast<T>(std::sin(angle));
    }
  return t;
}

}  // namespace patchzoo::nn
