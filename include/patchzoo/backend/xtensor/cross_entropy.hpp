#pragma once
// Reference softmax cross-entropy over logits[N, V] with integer targets and an ignore index.
#include <cmath>

#include "patchzoo/backend/contracts/gradients.hpp"
#include "patchzoo/backend/contracts/transformer.hpp"
#include "patchzoo/backend/xtensor/xt_includes.hpp"

namespace patchzoo {

struct xtensor_backend;

// losses[i] = log-sum-exp(logits_i) - logits_i[t_i] (0 where ignored); returns the number of counted rows.
template <real T>
std::int64_t cross_entropy_forward(xtensor_backend&, tensor_view<T> losses, tensor_view<T> probs, const_view<T> logits,
                                   const_view<std::int32_t> targets, std::int32_t ignore_index) {
  const char* op = "cross_entropy_forward";
  contract::cross_entropy(op, losses, probs, logits, targets);
  expect_contiguous(op, "probs", probs);
  expect_contiguous(op, "targets", targets);
  contract::indices_in_range(op, "targets", targets.data, targets.numel(), static_cast<std::int32_t>(logits.dim(1)),
                             ignore_index, true);
  auto Z = xt_detail::adapt(logits);
  auto P = xt_detail::adapt(probs);
  std::int64_t counted = 0;
  for (std::size_t n = 0; n < Z.shape(0); ++n) {
    double mx = -INFINITY;
    for (std::size_t c = 0; c < Z.shape(1); ++c) mx = std::max(mx, static_cast<double>(Z(n, c)));
    double total = 0.0;
    for (std::size_t c = 0; c < Z.shape(1); ++c) total += std::exp(Z(n, c) - mx);
    for (std::size_t c = 0; c < Z.shape(1); ++c) P(n, c) = static_cast<T>(std::exp(Z(n, c) - mx) / total);
    const std::int32_t t = targets.data[n];
    if (t == ignore_index) {
      losses.data[n] = T(0);
      continue;
    }
    losses.data[n] = static_cast<T>(mx + std::log(total) - Z(n, static_cast<std::size_t>(t)));
    ++counted;
  }
  return counted;
}

// dlogits_i += scale (probs_i - onehot(t_i)) on every counted row.
template <real T>
void cross_entropy_backward(xtensor_backend&, tensor_view<T> dlogits, const_view<T> probs,
                            const_view<std::int32_t> targets, std::int32_t ignore_index, T scale) {
  const char* op = "cross_entropy_backward";
  expect_rank(op, "probs", probs, 2);
  expect_contiguous(op, "probs", probs);
  expect_shape(op, "targets", targets, shape_t{probs.dim(0)});
  expect_contiguous(op, "targets", targets);
  contract::indices_in_range(op, "targets", targets.data, targets.numel(), static_cast<std::int32_t>(probs.dim(1)),
                             ignore_index, true);
  if (!contract::wanted_gradient(op, "dlogits", dlogits, probs)) return;
  expect_contiguous(op, "dlogits", dlogits);
  auto D = xt_detail::adapt(dlogits);
  auto P = xt_detail::adapt(probs);
  for (std::size_t n = 0; n < P.shape(0); ++n) {
    const std::int32_t t = targets.data[n];
    if (t == ignore_index) continue;
    for (std::size_t c = 0; c < P.shape(1); ++c) {
      const double onehot = static_cast<std::int64_t>(c) == t ? 1.0 : 0.0;
      D(n, c) += static_cast<T>(static_cast<double>(scale) * (P(n, c) - onehot));
    }
  }
}

}  // namespace patchzoo
