#pragma once
// Bias add (x[N, C] += bias per row) and its gradient (column sums of dout, accumulated in double).
#include "patchzoo/backend/contracts/transformer.hpp"
#include "patchzoo/backend/eigen/eigen_includes.hpp"

namespace patchzoo {

struct eigen_backend;

template <real T>
void add_bias(eigen_backend&, tensor_view<T> x, const_view<T> bias) {
  contract::bias("add_bias", x, bias);
  const std::int64_t rows = x.shape.rows(), cols = x.shape.last();
  T* px = x.data;
  const T* pb = bias.data;
  eigen_detail::parallel_for(rows, x.numel(), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t r = lo; r < hi; ++r) {
      T* row = px + r * cols;
      for (std::int64_t c = 0; c < cols; ++c) row[c] += pb[c];
    }
  });
}

template <real T>
void bias_backward(eigen_backend&, tensor_view<T> dbias, const_view<T> dout) {
  const char* op = "bias_backward";
  if (dbias.empty()) return;
  contract::bias<const T>(op, dout, const_view<T>(dbias));
  expect_contiguous(op, "dbias", dbias);
  const std::int64_t rows = dout.shape.rows(), cols = dout.shape.last();
  const T* pd = dout.data;
  const auto sums = eigen_detail::parallel_row_reduce(rows, dout.numel(), cols, [&](std::int64_t lo, std::int64_t hi, double* acc) {
    for (std::int64_t r = lo; r < hi; ++r) {
      const T* row = pd + r * cols;
      for (std::int64_t c = 0; c < cols; ++c) acc[c] += static_cast<double>(row[c]);
    }
  });
  for (std::int64_t c = 0; c < cols; ++c) dbias.data[c] += static_cast<T>(sums[c]);
}

}  // namespace patchzoo
