#pragma once
// Range attention, flash style: for each (block of 64 queries, head) the scores against the union of the
// block's key ranges are computed 256 keys at a time by GEMM, masked per row to [begin, end), and folded
// into an online softmax; nothing of size Tq x Tk is ever stored. The backward pass recomputes the
// probabilities from the saved log-sum-exp.
#include <cmath>
#include <limits>
#include <vector>

#include "patchzoo/backend/contracts/index_values.hpp"
#include "patchzoo/backend/contracts/transformer.hpp"
#include "patchzoo/backend/eigen/eigen_includes.hpp"

namespace patchzoo {

struct eigen_backend;

namespace eigen_detail {

inline constexpr std::int64_t attention_query_block = 64;
inline constexpr std::int64_t attention_key_block = 256;

// Rows [row0, row0 + rows) of head h of a [T, H, D] tensor, rows strides[0] apart.
template <class T>
auto head_rows(const tensor_view<T>& x, std::int64_t row0, std::int64_t rows, std::int64_t h) {
  using map = std::conditional_t<std::is_const_v<T>, const_strided_map<std::remove_const_t<T>>,
                                 strided_map<std::remove_const_t<T>>>;
  return map(x.data + row0 * x.strides[0] + h * x.strides[1], rows, x.dim(2), Eigen::OuterStride<>(x.strides[0]));
}

// The union [first, last) of the key ranges of queries [i0, i1); first == last when all are empty.
inline std::pair<std::int64_t, std::int64_t> key_span(const std::int32_t* ranges, std::int64_t i0, std::int64_t i1) {
  std::int64_t first = std::numeric_limits<std::int64_t>::max(), last = 0;
  for (std::int64_t i = i0; i < i1; ++i)
    if (ranges[2 * i] < ranges[2 * i + 1]) {
      first = std::min<std::int64_t>(first, ranges[2 * i]);
      last = std::max<std::int64_t>(last, ranges[2 * i + 1]);
    }
  return first < last ? std::pair{first, last} : std::pair<std::int64_t, std::int64_t>{0, 0};
}

// Score entries a call touches (sum of range lengths x heads x head_dim): decides whether threads pay.
inline std::int64_t attention_work(const std::int32_t* ranges, std::int64_t tq, std::int64_t heads, std::int64_t d) {
  std::int64_t keys = 0;
  for (std::int64_t i = 0; i < tq; ++i) keys += ranges[2 * i + 1] - ranges[2 * i];
  return keys * heads * d;
}

// Columns [lo, hi) of score row r of the key chunk starting at kb (clamped to the chunk).
inline std::pair<std::int64_t, std::int64_t> row_window(const std::int32_t* ranges, std::int64_t i, std::int64_t kb,
                                                        std::int64_t kn) {
  const std::int64_t lo = std::clamp<std::int64_t>(ranges[2 * i] - kb, 0, kn);
  const std::int64_t hi = std::clamp<std::int64_t>(ranges[2 * i + 1] - kb, 0, kn);
  return {lo, std::max(lo, hi)};
}

// Per-thread scratch of the forward pass, reused across blocks.
template <class T>
struct attention_scratch {
  row_matrix<T> scores, acc;
  std::vector<T> row_max, row_sum;
};

template <class T>
void attention_forward_block(const tensor_view<T>& out, const tensor_view<T>& lse, const const_view<T>& q,
                             const const_view<T>& k, const const_view<T>& v, const std::int32_t* ranges, T scale,
                             std::int64_t i0, std::int64_t i1, std::int64_t h, attention_scratch<T>& w) {
  constexpr T neg_inf = -std::numeric_limits<T>::infinity();
  const std::int64_t bq = i1 - i0, d = q.dim(2), heads = q.dim(1);
  auto O = head_rows(out, i0, bq, h);
  const auto [k0, k1] = key_span(ranges, i0, i1);
  if (k0 == k1) {
    O.setZero();
    for (std::int64_t r = 0; r < bq; ++r) lse.data[(i0 + r) * heads + h] = neg_inf;
    return;
  }
  const auto Q = head_rows(q, i0, bq, h);
  w.acc.setZero(bq, d);
  w.row_max.assign(static_cast<std::size_t>(bq), neg_inf);
  w.row_sum.assign(static_cast<std::size_t>(bq), T(0));
  for (std::int64_t kb = k0; kb < k1; kb += attention_key_block) {
    const std::int64_t kn = std::min(attention_key_block, k1 - kb);
    w.scores.resize(bq, kn);
    w.scores.noalias() = scale * Q * head_rows(k, kb, kn, h).transpose();
    for (std::int64_t r = 0; r < bq; ++r) {
      T* s = w.scores.data() + r * kn;
      const auto [lo, hi] = row_window(ranges, i0 + r, kb, kn);
      std::fill(s, s + lo, T(0));
      std::fill(s + hi, s + kn, T(0));
      if (lo == hi) continue;
      array_map<T> live(s + lo, hi - lo);
      const T m_new = std::max(w.row_max[r], live.maxCoeff());
      const T correction = std::exp(w.row_max[r] - m_new);  // 0 on the row's first live chunk
      live = (live - m_new).exp();
      w.row_sum[r] = w.row_sum[r] * correction + live.sum();
      if (correction != T(1)) w.acc.row(r) *= correction;
      w.row_max[r] = m_new;
    }
    w.acc.noalias() += w.scores * head_rows(v, kb, kn, h);
  }
  for (std::int64_t r = 0; r < bq; ++r) {
    const T total = w.row_sum[r];
    if (total > T(0)) {
      O.row(r) = w.acc.row(r) / total;
      lse.data[(i0 + r) * heads + h] = w.row_max[r] + std::log(total);
    } else {
      O.row(r).setZero();
      lse.data[(i0 + r) * heads + h] = neg_inf;
    }
  }
}

// Per-thread scratch of the backward pass.
template <class T>
struct attention_grad_scratch {
  row_matrix<T> probs, dprobs, dq;
  Eigen::Matrix<T, Eigen::Dynamic, 1> delta;
};

// Gradients of one (query block, head). dk and dv are written through `dk_out` / `dv_out` (either the
// caller's tensors or a thread's private copy), dq directly: no other task owns these query rows.
template <class T>
void attention_backward_block(const tensor_view<T>& dq, const tensor_view<T>& dk_out, const tensor_view<T>& dv_out,
                              const const_view<T>& dout, const const_view<T>& q, const const_view<T>& k,
                              const const_view<T>& v, const const_view<T>& out, const const_view<T>& lse,
                              const std::int32_t* ranges, T scale, std::int64_t i0, std::int64_t i1, std::int64_t h,
                              attention_grad_scratch<T>& w) {
  const std::int64_t bq = i1 - i0, d = q.dim(2), heads = q.dim(1);
  const auto [k0, k1] = key_span(ranges, i0, i1);
  if (k0 == k1) return;
  const bool want_q = !dq.empty(), want_k = !dk_out.empty(), want_v = !dv_out.empty();
  const auto Q = head_rows(q, i0, bq, h);
  const auto G = head_rows(dout, i0, bq, h);
  // delta_r = sum_j p_rj dp_rj = <dout_r, out_r>.
  w.delta = (G.array() * head_rows(out, i0, bq, h).array()).rowwise().sum().matrix();
  if (want_q) w.dq.setZero(bq, d);
  for (std::int64_t kb = k0; kb < k1; kb += attention_key_block) {
    const std::int64_t kn = std::min(attention_key_block, k1 - kb);
    const auto K = head_rows(k, kb, kn, h);
    const auto V = head_rows(v, kb, kn, h);
    w.probs.resize(bq, kn);
    w.probs.noalias() = scale * Q * K.transpose();
    for (std::int64_t r = 0; r < bq; ++r) {
      T* p = w.probs.data() + r * kn;
      const auto [lo, hi] = row_window(ranges, i0 + r, kb, kn);
      const T row_lse = lse.data[(i0 + r) * heads + h];
      std::fill(p, p + lo, T(0));
      std::fill(p + hi, p + kn, T(0));
      array_map<T> live(p + lo, hi - lo);
      live = (live - row_lse).exp();
    }
    if (want_v) head_rows(dv_out, kb, kn, h).noalias() += w.probs.transpose() * G;
    if (!want_q && !want_k) continue;
    w.dprobs.resize(bq, kn);
    w.dprobs.noalias() = G * V.transpose();
    // dS = P o (dP - delta), stored over dP.
    w.dprobs.array() = w.probs.array() * (w.dprobs.array().colwise() - w.delta.array());
    if (want_q) w.dq.noalias() += w.dprobs * K;
    if (want_k) head_rows(dk_out, kb, kn, h).noalias() += scale * w.dprobs.transpose() * Q;
  }
  if (want_q) head_rows(dq, i0, bq, h) += scale * w.dq;
}

}  // namespace eigen_detail

template <real T>
void attention_forward(eigen_backend&, tensor_view<T> out, tensor_view<T> lse, const_view<T> q, const_view<T> k,
                       const_view<T> v, const_view<std::int32_t> kv_range, T scale) {
  const char* op = "attention_forward";
  contract::attention(op, out, lse, q, k, v, kv_range);
  expect_contiguous(op, "kv_range", kv_range);
  expect_contiguous(op, "lse", lse);
  contract::kv_ranges(op, kv_range.data, q.dim(0), k.dim(0));
  const std::int64_t tq = q.dim(0), heads = q.dim(1);
  const std::int64_t blocks = (tq + eigen_detail::attention_query_block - 1) / eigen_detail::attention_query_block;
  const std::int64_t tasks = blocks * heads;
  const bool threaded = eigen_detail::attention_work(kv_range.data, tq, heads, q.dim(2)) > eigen_detail::parallel_threshold;
#pragma omp parallel if (threaded && tasks > 1)
  {
    eigen_detail::attention_scratch<T> scratch;
#pragma omp for schedule(dynamic)
    for (std::int64_t task = 0; task < tasks; ++task) {
      const std::int64_t b = task / heads, h = task % heads;
      const std::int64_t i0 = b * eigen_detail::attention_query_block;
      const std::int64_t i1 = std::min(tq, i0 + eigen_detail::attention_query_block);
      eigen_detail::attention_forward_block(out, lse, q, k, v, kv_range.data, scale, i0, i1, h, scratch);
    }
  }
}

// dV += P^T dO, dP = dO V^T, dS = P o (dP - rowsum(dO o O)), dQ += scale dS K, dK += scale dS^T Q.
// Query blocks of one head all add into the same dk/dv rows, so threads either own whole heads (when the
// heads split evenly) or add into private copies of dk/dv that are summed at the end.
template <real T>
void attention_backward(eigen_backend&, tensor_view<T> dq, tensor_view<T> dk, tensor_view<T> dv, const_view<T> dout,
                        const_view<T> q, const_view<T> k, const_view<T> v, const_view<T> out, const_view<T> lse,
                        const_view<std::int32_t> kv_range, T scale) {
  const char* op = "attention_backward";
  contract::attention<const T>(op, out, lse, q, k, v, kv_range);
  contract::rows_strided_heads(op, "dout", dout);
  expect_shape(op, "dout", dout, q.shape);
  expect_contiguous(op, "kv_range", kv_range);
  expect_contiguous(op, "lse", lse);
  contract::kv_ranges(op, kv_range.data, q.dim(0), k.dim(0));
  const auto wanted = [op](const char* name, const tensor_view<T>& grad, const const_view<T>& input) {
    if (grad.empty()) return false;
    contract::rows_strided_heads(op, name, grad);
    expect_shape(op, name, grad, input.shape);
    return true;
  };
  const bool want_q = wanted("dq", dq, q), want_k = wanted("dk", dk, k), want_v = wanted("dv", dv, v);
  if (!want_q && !want_k && !want_v) return;
  const std::int64_t tq = q.dim(0), heads = q.dim(1), d = q.dim(2), tk = k.dim(0);
  const std::int64_t blocks = (tq + eigen_detail::attention_query_block - 1) / eigen_detail::attention_query_block;
  const bool threaded = eigen_detail::attention_work(kv_range.data, tq, heads, d) > eigen_detail::parallel_threshold &&
                        !omp_in_parallel() && omp_get_max_threads() > 1 && blocks * heads > 1;
  const int threads = threaded ? omp_get_max_threads() : 1;
  const tensor_view<T> no_grad;
  const auto run_block = [&](std::int64_t b, std::int64_t h, const tensor_view<T>& dk_out, const tensor_view<T>& dv_out,
                             eigen_detail::attention_grad_scratch<T>& scratch) {
    const std::int64_t i0 = b * eigen_detail::attention_query_block;
    const std::int64_t i1 = std::min(tq, i0 + eigen_detail::attention_query_block);
    eigen_detail::attention_backward_block(want_q ? dq : no_grad, dk_out, dv_out, dout, q, k, v, out, lse,
                                           kv_range.data, scale, i0, i1, h, scratch);
  };
  const tensor_view<T> dk_use = want_k ? dk : no_grad, dv_use = want_v ? dv : no_grad;
  if (threads == 1 || (!want_k && !want_v)) {
#pragma omp parallel num_threads(threads)
    {
      eigen_detail::attention_grad_scratch<T> scratch;
#pragma omp for schedule(dynamic)
      for (std::int64_t task = 0; task < blocks * heads; ++task)
        run_block(task / heads, task % heads, dk_use, dv_use, scratch);
    }
    return;
  }
  if (heads % threads == 0) {
#pragma omp parallel num_threads(threads)
    {
      eigen_detail::attention_grad_scratch<T> scratch;
#pragma omp for schedule(static)
      for (std::int64_t h = 0; h < heads; ++h)
        for (std::int64_t b = 0; b < blocks; ++b) run_block(b, h, dk_use, dv_use, scratch);
    }
    return;
  }
  // Private dk/dv per thread, [Tk, H, D] contiguous, summed into the caller's tensors in thread order.
  const std::int64_t size = tk * heads * d;
  std::vector<T> private_k(want_k ? static_cast<std::size_t>(threads * size) : 0);
  std::vector<T> private_v(want_v ? static_cast<std::size_t>(threads * size) : 0);
#pragma omp parallel num_threads(threads)
  {
    const int id = omp_get_thread_num();
    const shape_t s = k.shape;
    const tensor_view<T> my_k = want_k ? tensor_view<T>(private_k.data() + id * size, s) : no_grad;
    const tensor_view<T> my_v = want_v ? tensor_view<T>(private_v.data() + id * size, s) : no_grad;
    eigen_detail::attention_grad_scratch<T> scratch;
#pragma omp for schedule(dynamic)
    for (std::int64_t task = 0; task < blocks * heads; ++task) run_block(task / heads, task % heads, my_k, my_v, scratch);
#pragma omp for schedule(static)
    for (std::int64_t j = 0; j < tk; ++j)
      for (int t = 0; t < threads; ++t) {
        if (want_k) {
          T* dst = dk.data + j * dk.strides[0];
          const T* src = private_k.data() + t * size + j * heads * d;
          for (std::int64_t e = 0; e < heads * d; ++e) dst[e] += src[e];
        }
        if (want_v) {
          T* dst = dv.data + j * dv.strides[0];
          const T* src = private_v.data() + t * size + j * heads * d;
          for (std::int64_t e = 0; e < heads * d; ++e) dst[e] += src[e];
        }
      }
  }
}

}  // namespace patchzoo
