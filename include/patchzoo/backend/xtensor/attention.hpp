#pragma once
// Reference range attention: query i attends keys j in [kv_range[i][0], kv_range[i][1]) with
// softmax(scale q.k) v per head. q, k, v, out and their gradients may have strided rows (fused QKV).
#include <cmath>
#include <vector>

#include "patchzoo/backend/contracts/index_values.hpp"
#include "patchzoo/backend/contracts/transformer.hpp"
#include "patchzoo/backend/xtensor/xt_includes.hpp"

namespace patchzoo {

struct xtensor_backend;

namespace xt_detail {

template <class A, class B>
double dot(const A& a, const B& b) {
  double acc = 0.0;
  for (std::size_t d = 0; d < a.size(); ++d) acc += static_cast<double>(a(d)) * static_cast<double>(b(d));
  return acc;
}

// A wanted gradient of a [T, H, D] tensor: same shape as its input, rows possibly strided.
template <class G, class X>
bool wanted_head_gradient(const char* op, const char* name, const tensor_view<G>& grad, const tensor_view<X>& input) {
  if (grad.empty()) return false;
  contract::rows_strided_heads(op, name, grad);
  expect_shape(op, name, grad, input.shape);
  return true;
}

}  // namespace xt_detail

template <real T>
void attention_forward(xtensor_backend&, tensor_view<T> out, tensor_view<T> lse, const_view<T> q, const_view<T> k,
                       const_view<T> v, const_view<std::int32_t> kv_range, T scale) {
  const char* op = "attention_forward";
  contract::attention(op, out, lse, q, k, v, kv_range);
  expect_contiguous(op, "kv_range", kv_range);
  expect_contiguous(op, "lse", lse);
  contract::kv_ranges(op, kv_range.data, q.dim(0), k.dim(0));
  const std::int64_t tq = q.dim(0), heads = q.dim(1);
  std::vector<double> scores;
  for (std::int64_t i = 0; i < tq; ++i) {
    const std::int64_t begin = kv_range.data[2 * i], end = kv_range.data[2 * i + 1];
    for (std::int64_t h = 0; h < heads; ++h) {
      auto qi = xt_detail::adapt_head(q, i, h);
      auto oi = xt_detail::adapt_head(out, i, h);
      oi.fill(T(0));
      if (begin == end) {
        lse.data[i * heads + h] = static_cast<T>(-INFINITY);
        continue;
      }
      scores.assign(static_cast<std::size_t>(end - begin), 0.0);
      double mx = -INFINITY;
      for (std::int64_t j = begin; j < end; ++j) {
        const double s = static_cast<double>(scale) * xt_detail::dot(qi, xt_detail::adapt_head(k, j, h));
        scores[static_cast<std::size_t>(j - begin)] = s;
        mx = std::max(mx, s);
      }
      double total = 0.0;
      for (double s : scores) total += std::exp(s - mx);
      const double log_total = mx + std::log(total);
      std::vector<double> acc(qi.size(), 0.0);
      for (std::int64_t j = begin; j < end; ++j) {
        const double p = std::exp(scores[static_cast<std::size_t>(j - begin)] - log_total);
        auto vj = xt_detail::adapt_head(v, j, h);
        for (std::size_t d = 0; d < acc.size(); ++d) acc[d] += p * vj(d);
      }
      for (std::size_t d = 0; d < acc.size(); ++d) oi(d) = static_cast<T>(acc[d]);
      lse.data[i * heads + h] = static_cast<T>(log_total);
    }
  }
}

// Probabilities are recomputed from the saved lse: p_j = exp(scale q.k_j - lse). With dp_j = dout.v_j and
// ds_j = p_j (dp_j - sum_k p_k dp_k): dq += scale sum_j ds_j k_j, dk_j += scale ds_j q, dv_j += p_j dout.
// sum_k p_k dp_k is summed directly rather than read off dout.out, so `out` is only shape-checked here.
template <real T>
void attention_backward(xtensor_backend&, tensor_view<T> dq, tensor_view<T> dk, tensor_view<T> dv, const_view<T> dout,
                        const_view<T> q, const_view<T> k, const_view<T> v, const_view<T> out, const_view<T> lse,
                        const_view<std::int32_t> kv_range, T scale) {
  const char* op = "attention_backward";
  contract::attention<const T>(op, out, lse, q, k, v, kv_range);
  contract::rows_strided_heads(op, "dout", dout);
  expect_shape(op, "dout", dout, q.shape);
  expect_contiguous(op, "kv_range", kv_range);
  expect_contiguous(op, "lse", lse);
  contract::kv_ranges(op, kv_range.data, q.dim(0), k.dim(0));
  const bool want_q = xt_detail::wanted_head_gradient(op, "dq", dq, q);
  const bool want_k = xt_detail::wanted_head_gradient(op, "dk", dk, k);
  const bool want_v = xt_detail::wanted_head_gradient(op, "dv", dv, v);
  const std::int64_t tq = q.dim(0), heads = q.dim(1);
  const std::size_t dim = static_cast<std::size_t>(q.dim(2));
  // Gradients are summed in double over every query, then added once into the (strided) outputs.
  xt::xtensor<double, 3> dq_acc = xt::zeros<double>({static_cast<std::size_t>(tq), static_cast<std::size_t>(heads), dim});
  xt::xtensor<double, 3> dk_acc = xt::zeros<double>({static_cast<std::size_t>(k.dim(0)), static_cast<std::size_t>(heads), dim});
  xt::xtensor<double, 3> dv_acc = xt::zeros<double>(dk_acc.shape());
  std::vector<double> probs, dprobs;
  for (std::int64_t i = 0; i < tq; ++i) {
    const std::int64_t begin = kv_range.data[2 * i], end = kv_range.data[2 * i + 1];
    for (std::int64_t h = 0; h < heads; ++h) {
      if (begin == end) continue;
      auto qi = xt_detail::adapt_head(q, i, h);
      auto gi = xt_detail::adapt_head(dout, i, h);
      const double log_total = lse.data[i * heads + h];
      probs.assign(static_cast<std::size_t>(end - begin), 0.0);
      dprobs.assign(probs.size(), 0.0);
      double weighted = 0.0;  // sum_j p_j dp_j
      for (std::int64_t j = begin; j < end; ++j) {
        const std::size_t s = static_cast<std::size_t>(j - begin);
        probs[s] = std::exp(static_cast<double>(scale) * xt_detail::dot(qi, xt_detail::adapt_head(k, j, h)) - log_total);
        dprobs[s] = xt_detail::dot(gi, xt_detail::adapt_head(v, j, h));
        weighted += probs[s] * dprobs[s];
      }
      for (std::int64_t j = begin; j < end; ++j) {
        const std::size_t s = static_cast<std::size_t>(j - begin);
        const double ds = static_cast<double>(scale) * probs[s] * (dprobs[s] - weighted);
        auto kj = xt_detail::adapt_head(k, j, h);
        for (std::size_t d = 0; d < dim; ++d) {
          dq_acc(i, h, d) += ds * kj(d);
          dk_acc(j, h, d) += ds * qi(d);
          dv_acc(j, h, d) += probs[s] * gi(d);
        }
      }
    }
  }
  const auto add_into = [&](const tensor_view<T>& grad, const xt::xtensor<double, 3>& acc) {
    for (std::int64_t t = 0; t < grad.dim(0); ++t)
      for (std::int64_t h = 0; h < heads; ++h) {
        auto row = xt_detail::adapt_head(grad, t, h);
        for (std::size_t d = 0; d < dim; ++d) row(d) += static_cast<T>(acc(t, h, d));
      }
  };
  if (want_q) add_into(dq, dq_acc);
  if (want_k) add_into(dk, dk_acc);
  if (want_v) add_into(dv, dv_acc);
}

}  // namespace patchzoo
