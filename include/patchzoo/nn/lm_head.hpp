#pragma once
// The end of a packed LLaMA-style stack: final RMSNorm, then logits = rmsnorm(x) head^T with an untied head,
// and its backward from the mean cross-entropy. nn::transformer and dpar::llamagen_model both end here,
// so the two share one head path (docs/design.md, "Two packed transformers").
#include <cstdint>
#include <type_traits>

#include "patchzoo/backend/concepts.hpp"
#include "patchzoo/ops/linear.hpp"

namespace patchzoo::nn {

// Buffers of the head for n rows: kept from forward for backward, reallocated only when n changes.
template <backend B, real T>
struct lm_head_buffers {
  tensor_on<B, T> normed, rstd, dnormed, logits, probs, losses;

  lm_head_buffers() = default;
  lm_head_buffers(std::int64_t n, std::int64_t dim, std::int64_t vocab)
      : normed(shape_t{n, dim}), rstd(shape_t{n}), dnormed(shape_t{n, dim}), logits(shape_t{n, vocab}),
        probs(shape_t{n, vocab}), losses(shape_t{n}) {}
};

template <backend B, real T>
  requires transformer_ops<B, T>
void lm_head_forward(B& be, lm_head_buffers<B, T>& h, const_view<T> x, const_view<T> norm_weight,
                     const std::type_identity_t<linear_weight<T>>& head, float eps) {
  rmsnorm_forward(be, h.normed.view(), h.rstd.view(), x, norm_weight, static_cast<T>(eps));
  project(be, h.logits.view(), h.normed.cview(), head);
}

// From the mean cross-entropy over `count` targets (h.probs from cross_entropy_forward on h.logits): adds
// the head's and the norm's gradients and writes dx = d loss / d x (dx is overwritten). The logits are dead
// after the loss, so their memory holds the logit gradients.
template <backend B, real T>
  requires transformer_ops<B, T>
void lm_head_backward(B& be, lm_head_buffers<B, T>& h, const_view<std::int32_t> targets, std::int32_t ignore_index,
                      std::int64_t count, const_view<T> x, const_view<T> norm_weight, const_view<T> head,
                      tensor_view<T> dnorm_weight, tensor_view<T> dhead, tensor_view<T> dx) {
  auto dlogits = h.logits.view();
  fill(be, dlogits, T(0));
  cross_entropy_backward(be, dlogits, h.probs.cview(), targets, ignore_index,
                         static_cast<T>(1.0 / static_cast<double>(count)));
  matmul_backward(be, h.dnormed.view(), dhead, h.logits.cview(), h.normed.cview(), head, false, true,
                  gradient_write::overwrite);
  fill(be, dx, T(0));
  rmsnorm_backward(be, dx, dnorm_weight, h.dnormed.cview(), x, norm_weight, h.rstd.cview());
}

}  // namespace patchzoo::nn
