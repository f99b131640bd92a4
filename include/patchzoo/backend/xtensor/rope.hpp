#pragma once
// Reference rotary position embedding on x[T, H, D] in place, over interleaved pairs (x0, x1).
#include "patchzoo/backend/contracts/transformer.hpp"
#include "patchzoo/backend/xtensor/xt_includes.hpp"

namespace patchzoo {

struct xtensor_backend;

namespace xt_detail {

// Rotates every pair of every head of token t by the table angle; sign = -1 applies the transpose.
template <class T>
void rotate_pairs(const tensor_view<T>& x, const const_view<T>& cos, const const_view<T>& sin, double sign) {
  auto C = adapt(cos);
  auto S = adapt(sin);
  for (std::int64_t t = 0; t < x.dim(0); ++t)
    for (std::int64_t h = 0; h < x.dim(1); ++h) {
      auto row = adapt_head(x, t, h);
      for (std::int64_t i = 0; i < x.dim(2) / 2; ++i) {
        const double c = C(t, i), s = sign * S(t, i);
        const double x0 = row(2 * i), x1 = row(2 * i + 1);
        row(2 * i) = static_cast<T>(x0 * c - x1 * s);
        row(2 * i + 1) = static_cast<T>(x0 * s + x1 * c);
      }
    }
}

}  // namespace xt_detail

template <real T>
void rope_forward(xtensor_backend&, tensor_view<T> x, const_view<T> cos, const_view<T> sin) {
  const char* op = "rope_forward";
  contract::rope(op, x, cos, sin);
  expect_contiguous(op, "cos table", cos);
  expect_contiguous(op, "sin table", sin);
  xt_detail::rotate_pairs(x, cos, sin, 1.0);
}

// The transpose of the rotation: (g0, g1) -> (g0 c + g1 s, -g0 s + g1 c), in place on dx.
template <real T>
void rope_backward(xtensor_backend&, tensor_view<T> dx, const_view<T> cos, const_view<T> sin) {
  const char* op = "rope_backward";
  contract::rope(op, dx, cos, sin);
  expect_contiguous(op, "cos table", cos);
  expect_contiguous(op, "sin table", sin);
  xt_detail::rotate_pairs(dx, cos, sin, -1.0);
}

}  // namespace patchzoo
