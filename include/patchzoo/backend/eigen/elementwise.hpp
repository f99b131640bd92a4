#pragma once
// Element-wise utilities and reductions: one pass over raw memory, split across threads when large.
#include <cstring>

#include "patchzoo/backend/contracts/transformer.hpp"
#include "patchzoo/backend/eigen/eigen_includes.hpp"

namespace patchzoo {

struct eigen_backend;

template <real T>
void fill(eigen_backend&, tensor_view<T> x, T value) {
  expect_contiguous("fill", "x", x);
  T* p = x.data;
  eigen_detail::parallel_for(x.numel(), x.numel(), [&](std::int64_t b, std::int64_t e) {
    std::fill(p + b, p + e, value);
  });
}

template <real T>
void copy(eigen_backend&, tensor_view<T> dst, const_view<T> src) {
  contract::elementwise("copy", dst, src);
  T* d = dst.data;
  const T* s = src.data;
  eigen_detail::parallel_for(dst.numel(), dst.numel(), [&](std::int64_t b, std::int64_t e) {
    std::memmove(d + b, s + b, static_cast<std::size_t>(e - b) * sizeof(T));
  });
}

template <real T>
void add(eigen_backend&, tensor_view<T> out, const_view<T> a, const_view<T> b) {
  contract::elementwise("add", out, a);
  contract::elementwise("add", out, b);
  T* o = out.data;
  const T *pa = a.data, *pb = b.data;
  // Element i reads only a[i] and b[i] before writing out[i], so out may alias a or b.
  eigen_detail::parallel_for(out.numel(), out.numel(), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i) o[i] = pa[i] + pb[i];
  });
}

template <real T>
void accumulate(eigen_backend&, tensor_view<T> dst, const_view<T> src, T alpha = T(1)) {
  contract::elementwise("accumulate", dst, src);
  T* d = dst.data;
  const T* s = src.data;
  eigen_detail::parallel_for(dst.numel(), dst.numel(), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i) d[i] += alpha * s[i];
  });
}

template <real T>
void scale(eigen_backend&, tensor_view<T> x, T alpha) {
  expect_contiguous("scale", "x", x);
  T* p = x.data;
  eigen_detail::parallel_for(x.numel(), x.numel(), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i) p[i] *= alpha;
  });
}

template <real T>
double sum(eigen_backend&, const_view<T> x) {
  expect_contiguous("sum", "x", x);
  const T* p = x.data;
  const auto part = eigen_detail::parallel_row_reduce(x.numel(), x.numel(), 1, [&](std::int64_t lo, std::int64_t hi, double* acc) {
    double s = 0.0;
    for (std::int64_t i = lo; i < hi; ++i) s += static_cast<double>(p[i]);
    acc[0] += s;
  });
  return part[0];
}

template <real T>
double sum_squares(eigen_backend&, const_view<T> x) {
  expect_contiguous("sum_squares", "x", x);
  const T* p = x.data;
  const auto part = eigen_detail::parallel_row_reduce(x.numel(), x.numel(), 1, [&](std::int64_t lo, std::int64_t hi, double* acc) {
    double s = 0.0;
    for (std::int64_t i = lo; i < hi; ++i) s += static_cast<double>(p[i]) * static_cast<double>(p[i]);
    acc[0] += s;
  });
  return part[0];
}

}  // namespace patchzoo
