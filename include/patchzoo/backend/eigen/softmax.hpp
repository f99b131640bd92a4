#pragma once
// Row-wise softmax (max-subtracted) and its backward din += out * (dout - <dout, out>).
#include "patchzoo/backend/contracts/gradients.hpp"
#include "patchzoo/backend/contracts/transformer.hpp"
#include "patchzoo/backend/eigen/eigen_includes.hpp"

namespace patchzoo {

struct eigen_backend;

namespace eigen_detail {

// y = softmax(x) over one row; returns log(sum(exp(x - max))) + max, the row's log-sum-exp.
template <class T>
double softmax_row(T* y, const T* x, std::int64_t n) {
  const const_array_map<T> xr(x, n);
  array_map<T> yr(y, n);
  const T mx = xr.maxCoeff();
  yr = (xr - mx).exp();
  double total = 0.0;
  for (std::int64_t i = 0; i < n; ++i) total += y[i];
  yr *= static_cast<T>(1.0 / total);
  return std::log(total) + static_cast<double>(mx);
}

}  // namespace eigen_detail

template <real T>
void softmax_forward(eigen_backend&, tensor_view<T> out, const_view<T> in) {
  contract::rowwise("softmax_forward", out, in);
  const std::int64_t n = in.dim(0), c = in.dim(1);
  eigen_detail::parallel_for(n, in.numel(), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t r = lo; r < hi; ++r) eigen_detail::softmax_row(out.data + r * c, in.data + r * c, c);
  });
}

template <real T>
void softmax_backward(eigen_backend&, tensor_view<T> din, const_view<T> dout, const_view<T> out) {
  const char* op = "softmax_backward";
  contract::rowwise<const T>(op, dout, out);
  if (!contract::wanted_gradient(op, "din", din, out)) return;
  expect_contiguous(op, "din", din);
  const std::int64_t n = out.dim(0), c = out.dim(1);
  eigen_detail::parallel_for(n, out.numel(), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t r = lo; r < hi; ++r) {
      const T* y = out.data + r * c;
      const T* g = dout.data + r * c;
      T* dx = din.data + r * c;
      double dot = 0.0;
      for (std::int64_t i = 0; i < c; ++i) dot += static_cast<double>(g[i]) * y[i];
      const T d = static_cast<T>(dot);
      for (std::int64_t i = 0; i < c; ++i) dx[i] += y[i] * (g[i] - d);
    }
  });
}

}  // namespace patchzoo
