#pragma once
// Reference element-wise ops and reductions.
#include "patchzoo/backend/contracts/transformer.hpp"
#include "patchzoo/backend/xtensor/xt_includes.hpp"

namespace patchzoo {

struct xtensor_backend;

template <real T>
void fill(xtensor_backend&, tensor_view<T> x, T value) {
  expect_contiguous("fill", "x", x);
  xt_detail::adapt(x).fill(value);
}

template <real T>
void copy(xtensor_backend&, tensor_view<T> dst, const_view<T> src) {
  contract::elementwise("copy", dst, src);
  xt_detail::adapt(dst) = xt_detail::adapt(src);
}

template <real T>
void add(xtensor_backend&, tensor_view<T> out, const_view<T> a, const_view<T> b) {
  contract::elementwise("add", out, a);
  contract::elementwise("add", out, b);
  auto o = xt_detail::adapt_2d(out);
  o = xt_detail::adapt_2d(a) + xt_detail::adapt_2d(b);
}

template <real T>
void accumulate(xtensor_backend&, tensor_view<T> dst, const_view<T> src, T alpha = T(1)) {
  contract::elementwise("accumulate", dst, src);
  auto d = xt_detail::adapt_2d(dst);
  d += alpha * xt_detail::adapt_2d(src);
}

template <real T>
void scale(xtensor_backend&, tensor_view<T> x, T alpha) {
  expect_contiguous("scale", "x", x);
  auto a = xt_detail::adapt(x);
  a *= alpha;
}

template <real T>
double sum(xtensor_backend&, const_view<T> x) {
  expect_contiguous("sum", "x", x);
  double s = 0.0;
  for (std::int64_t i = 0; i < x.numel(); ++i) s += static_cast<double>(x.data[i]);
  return s;
}

template <real T>
double sum_squares(xtensor_backend&, const_view<T> x) {
  expect_contiguous("sum_squares", "x", x);
  double s = 0.0;
  for (std::int64_t i = 0; i < x.numel(); ++i) s += static_cast<double>(x.data[i]) * x.data[i];
  return s;
}

}  // namespace patchzoo
