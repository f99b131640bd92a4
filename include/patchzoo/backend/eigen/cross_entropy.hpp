#pragma once
// Softmax cross-entropy over logits[N, V]: losses from the log-sum-exp (no log of a tiny probability),
// probs saved for the backward pass.
#include "patchzoo/backend/contracts/gradients.hpp"
#include "patchzoo/backend/contracts/transformer.hpp"
#include "patchzoo/backend/eigen/eigen_includes.hpp"
#include "patchzoo/backend/eigen/softmax.hpp"

namespace patchzoo {

struct eigen_backend;

template <real T>
std::int64_t cross_entropy_forward(eigen_backend&, tensor_view<T> losses, tensor_view<T> probs, const_view<T> logits,
                                   const_view<std::int32_t> targets, std::int32_t ignore_index) {
  const char* op = "cross_entropy_forward";
  contract::cross_entropy(op, losses, probs, logits, targets);
  expect_contiguous(op, "probs", probs);
  expect_contiguous(op, "targets", targets);
  const std::int64_t n = logits.dim(0), v = logits.dim(1);
  contract::indices_in_range(op, "targets", targets.data, n, static_cast<std::int32_t>(v), ignore_index, true);
  eigen_detail::parallel_for(n, logits.numel(), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t r = lo; r < hi; ++r) {
      const double lse = eigen_detail::softmax_row(probs.data + r * v, logits.data + r * v, v);
      const std::int32_t t = targets.data[r];
      losses.data[r] = t == ignore_index ? T(0) : static_cast<T>(lse - static_cast<double>(logits.data[r * v + t]));
    }
  });
  std::int64_t counted = 0;
  for (std::int64_t r = 0; r < n; ++r) counted += targets.data[r] != ignore_index;
  return counted;
}

template <real T>
void cross_entropy_backward(eigen_backend&, tensor_view<T> dlogits, const_view<T> probs,
                            const_view<std::int32_t> targets, std::int32_t ignore_index, T scale) {
  const char* op = "cross_entropy_backward";
  expect_rank(op, "probs", probs, 2);
  expect_contiguous(op, "probs", probs);
  expect_shape(op, "targets", targets, shape_t{probs.dim(0)});
  expect_contiguous(op, "targets", targets);
  const std::int64_t n = probs.dim(0), v = probs.dim(1);
  contract::indices_in_range(op, "targets", targets.data, n, static_cast<std::int32_t>(v), ignore_index, true);
  if (!contract::wanted_gradient(op, "dlogits", dlogits, probs)) return;
  expect_contiguous(op, "dlogits", dlogits);
  eigen_detail::parallel_for(n, probs.numel(), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t r = lo; r < hi; ++r) {
      const std::int32_t t = targets.data[r];
      if (t == ignore_index) continue;
      T* d = dlogits.data + r * v;
      const T* p = probs.data + r * v;
      for (std::int64_t i = 0; i < v; ++i) d[i] += scale * p[i];
      d[t] -= scale;
    }
  });
}

}  // namespace patchzoo
