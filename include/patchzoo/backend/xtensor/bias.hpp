#pragma once
// Reference bias add over the rows of x[N, C], and its column-sum backward.
#include "patchzoo/backend/contracts/transformer.hpp"
#include "patchzoo/backend/xtensor/xt_includes.hpp"

namespace patchzoo {

struct xtensor_backend;

template <real T>
void add_bias(xtensor_backend&, tensor_view<T> x, const_view<T> bias) {
  contract::bias("add_bias", x, bias);
  auto X = xt_detail::adapt_2d(x);
  auto b = xt_detail::adapt(bias);
  for (std::size_t n = 0; n < X.shape(0); ++n) xt::row(X, n) += b;
}

template <real T>
void bias_backward(xtensor_backend&, tensor_view<T> dbias, const_view<T> dout) {
  const char* op = "bias_backward";
  if (dbias.empty()) return;
  contract::bias<const T>(op, dout, const_view<T>(dbias));
  expect_contiguous(op, "dbias", dbias);
  auto D = xt_detail::adapt_2d(dout);
  for (std::size_t c = 0; c < D.shape(1); ++c) {
    double acc = 0.0;
    for (std::size_t n = 0; n < D.shape(0); ++n) acc += D(n, c);
    dbias.data[c] += static_cast<T>(acc);
  }
}

}  // namespace patchzoo
