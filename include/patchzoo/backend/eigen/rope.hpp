#pragma once
// Rotary position embedding, in place on interleaved pairs of x[T, H, D] (rows may be strided).
#include "patchzoo/backend/contracts/transformer.hpp"
#include "patchzoo/backend/eigen/eigen_includes.hpp"

namespace patchzoo {

struct eigen_backend;

namespace eigen_detail {

// (x0, x1) -> (x0 c - x1 s, x0 s + x1 c); sign = -1 applies the transpose (the backward pass).
template <class T>
void rotate_pairs(const tensor_view<T>& x, const const_view<T>& cos, const const_view<T>& sin, T sign) {
  const std::int64_t t = x.dim(0), h = x.dim(1), half = x.dim(2) / 2;
  parallel_for(t, x.numel(), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i) {
      const T* c = cos.data + i * half;
      const T* s = sin.data + i * half;
      for (std::int64_t head = 0; head < h; ++head) {
        T* p = x.data + i * x.strides[0] + head * x.strides[1];
        for (std::int64_t j = 0; j < half; ++j) {
          const T x0 = p[2 * j], x1 = p[2 * j + 1], sj = sign * s[j];
          p[2 * j] = x0 * c[j] - x1 * sj;
          p[2 * j + 1] = x0 * sj + x1 * c[j];
        }
      }
    }
  });
}

}  // namespace eigen_detail

template <real T>
void rope_forward(eigen_backend&, tensor_view<T> x, const_view<T> cos, const_view<T> sin) {
  contract::rope("rope_forward", x, cos, sin);
  expect_contiguous("rope_forward", "cos table", cos);
  expect_contiguous("rope_forward", "sin table", sin);
  eigen_detail::rotate_pairs(x, cos, sin, T(1));
}

template <real T>
void rope_backward(eigen_backend&, tensor_view<T> dx, const_view<T> cos, const_view<T> sin) {
  contract::rope("rope_backward", dx, cos, sin);
  expect_contiguous("rope_backward", "cos table", cos);
  expect_contiguous("rope_backward", "sin table", sin);
  eigen_detail::rotate_pairs(dx, cos, sin, T(-1));
}

}  // namespace patchzoo
