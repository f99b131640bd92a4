#pragma once
// Reference row-wise softmax over in[N, C], max-subtracted for stability.
#include <cmath>

#include "patchzoo/backend/contracts/gradients.hpp"
#include "patchzoo/backend/contracts/transformer.hpp"
#include "patchzoo/backend/xtensor/xt_includes.hpp"

namespace patchzoo {

struct xtensor_backend;

template <real T>
void softmax_forward(xtensor_backend&, tensor_view<T> out, const_view<T> in) {
  contract::rowwise("softmax_forward", out, in);
  auto X = xt_detail::adapt(in);
  auto Y = xt_detail::adapt(out);
  for (std::size_t n = 0; n < X.shape(0); ++n) {
    double mx = -INFINITY;
    for (std::size_t c = 0; c < X.shape(1); ++c) mx = std::max(mx, static_cast<double>(X(n, c)));
    double total = 0.0;
    for (std::size_t c = 0; c < X.shape(1); ++c) total += std::exp(X(n, c) - mx);
    for (std::size_t c = 0; c < X.shape(1); ++c) Y(n, c) = static_cast<T>(std::exp(X(n, c) - mx) / total);
  }
}

// din_c += y_c (dout_c - sum_k dout_k y_k).
template <real T>
void softmax_backward(xtensor_backend&, tensor_view<T> din, const_view<T> dout, const_view<T> out) {
  const char* op = "softmax_backward";
  contract::rowwise<const T>(op, dout, out);
  if (!contract::wanted_gradient(op, "din", din, out)) return;
  expect_contiguous(op, "din", din);
  auto D = xt_detail::adapt(din);
  auto G = xt_detail::adapt(dout);
  auto Y = xt_detail::adapt(out);
  for (std::size_t n = 0; n < Y.shape(0); ++n) {
    double dot = 0.0;
    for (std::size_t c = 0; c < Y.shape(1); ++c) dot += static_cast<double>(G(n, c)) * Y(n, c);
    for (std::size_t c = 0; c < Y.shape(1); ++c) D(n, c) += static_cast<T>(Y(n, c) * (G(n, c) - dot));
  }
}

}  // namespace patchzoo
