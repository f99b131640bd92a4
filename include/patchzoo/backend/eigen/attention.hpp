#pragma once
// Range attention, flash style: for each (block of 64 queries, head) the scores against the union of the
// block's key ranges are computed 256 keys at a time by GEMM, masked per row to [begin, end), and folded
// into an online softmax; nothing of size Tq x Tk is ever stored. The backward pass recomputes the
// probabilities from the saved log-sum-exp.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include "patchzoo/backend/contracts/index_values.hpp"
#include "patchzoo/backend/contracts/transformer.hpp"
#include "patchzoo/backend/eigen/attention_query.hpp"
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

// Columns [lo, hi) of query i's score row that lie in its key range, within the chunk [kb, kb + kn).
inline std::pair<std::int64_t, std::int64_t> row_window(const std::int32_t* ranges, std::int64_t i, std::int64_t kb,
                                                        std::int64_t kn) {
  const std::int64_t lo = std::clamp<std::int64_t>(ranges[2 * i] - kb, 0, kn);
  const std::int64_t hi = std::clamp<std::int64_t>(ranges[2 * i + 1] - kb, 0, kn);
  return {lo, std::max(lo, hi)};
}

// A block whose queries see far fewer keys than the union of their ranges (one query per sequence in
// lockstep decoding: the union spans every sequence's cache) is cheaper one query at a time than as a
// masked GEMM over the union. Dense below 4x waste: a GEMM runs several times faster per FLOP than gemv.
inline bool sparse_block(const std::int32_t* ranges, std::int64_t i0, std::int64_t i1, std::int64_t span) {
  std::int64_t keys = 0;
  for (std::int64_t i = i0; i < i1; ++i) keys += std::max(0, ranges[2 * i + 1] - ranges[2 * i]);
  return 4 * keys < (i1 - i0) * span;
}

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
  if (sparse_block(ranges, i0, i1, k1 - k0)) {
    for (std::int64_t i = i0; i < i1; ++i) attention_forward_query(out, lse, q, k, v, ranges, scale, i, h, h + 1, w);
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

// Where one head's dk or dv rows go: row j at data + j * row_stride (the caller's tensor or a private
// copy); data == nullptr when the gradient is not wanted.
template <class T>
struct head_gradient {
  T* data = nullptr;
  std::int64_t row_stride = 0;
  strided_map<T> rows(std::int64_t row0, std::int64_t count, std::int64_t d) const {
    return strided_map<T>(data + row0 * row_stride, count, d, Eigen::OuterStride<>(row_stride));
  }
};

template <class T>
head_gradient<T> head_of(const tensor_view<T>& grad, std::int64_t h) {
  return grad.empty() ? head_gradient<T>{} : head_gradient<T>{grad.data + h * grad.strides[1], grad.strides[0]};
}

// Gradients of one (query block, head). dq rows belong to this block alone; dk and dv rows are shared by
// every block of the head, so the caller decides where they go.
template <class T>
void attention_backward_block(const tensor_view<T>& dq, const head_gradient<T>& dk, const head_gradient<T>& dv,
                              const const_view<T>& dout, const const_view<T>& q, const const_view<T>& k,
                              const const_view<T>& v, const const_view<T>& out, const const_view<T>& lse,
                              const std::int32_t* ranges, T scale, std::int64_t i0, std::int64_t i1, std::int64_t h,
                              attention_grad_scratch<T>& w) {
  const std::int64_t bq = i1 - i0, d = q.dim(2), heads = q.dim(1);
  const auto [k0, k1] = key_span(ranges, i0, i1);
  if (k0 == k1) return;
  const bool want_q = !dq.empty(), want_k = dk.data != nullptr, want_v = dv.data != nullptr;
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
    if (want_v) dv.rows(kb, kn, d).noalias() += w.probs.transpose() * G;
    if (!want_q && !want_k) continue;
    w.dprobs.resize(bq, kn);
    w.dprobs.noalias() = G * V.transpose();
    // dS = P o (dP - delta), stored over dP.
    w.dprobs.array() = w.probs.array() * (w.dprobs.array().colwise() - w.delta.array());
    if (want_q) w.dq.noalias() += w.dprobs * K;
    if (want_k) dk.rows(kb, kn, d).noalias() += scale * w.dprobs.transpose() * Q;
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
  bool all_sparse = true;  // one query per sequence (lockstep decoding): one task per query, all heads
  for (std::int64_t b = 0; b < blocks && all_sparse; ++b) {
    const std::int64_t i0 = b * eigen_detail::attention_query_block;
    const std::int64_t i1 = std::min(tq, i0 + eigen_detail::attention_query_block);
    const auto [k0, k1] = eigen_detail::key_span(kv_range.data, i0, i1);
    all_sparse = k0 < k1 && eigen_detail::sparse_block(kv_range.data, i0, i1, k1 - k0);
  }
  if (all_sparse) {
#pragma omp parallel if (threaded && tq > 1)
    {
      eigen_detail::attention_scratch<T> scratch;
#pragma omp for schedule(static)
      for (std::int64_t i = 0; i < tq; ++i)
        eigen_detail::attention_forward_query(out, lse, q, k, v, kv_range.data, scale, i, 0, heads, scratch);
    }
    return;
  }
#pragma omp parallel if (threaded && tasks > 1)
  {
    eigen_detail::single_threaded_blas();
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
// Query blocks of one head all add into the same dk/dv rows. When the heads split evenly over the
// threads, threads own whole heads. Otherwise each head's query blocks are dealt to a few groups; group 0
// adds into dk/dv directly, the others into private [Tk, D] copies that are summed in at the end.
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
  const std::int64_t threads = threaded ? omp_get_max_threads() : 1;
  const tensor_view<T> dq_use = want_q ? dq : tensor_view<T>{};
  const tensor_view<T> dk_use = want_k ? dk : tensor_view<T>{}, dv_use = want_v ? dv : tensor_view<T>{};
  const auto run_block = [&](std::int64_t b, std::int64_t h, const eigen_detail::head_gradient<T>& dk_to,
                             const eigen_detail::head_gradient<T>& dv_to, eigen_detail::attention_grad_scratch<T>& w) {
    const std::int64_t i0 = b * eigen_detail::attention_query_block;
    const std::int64_t i1 = std::min(tq, i0 + eigen_detail::attention_query_block);
    eigen_detail::attention_backward_block(dq_use, dk_to, dv_to, dout, q, k, v, out, lse, kv_range.data, scale, i0, i1,
                                           h, w);
  };
  if (threads == 1 || (!want_k && !want_v) || heads % threads == 0) {
    const bool by_head = want_k || want_v;
    const std::int64_t tasks = by_head ? heads : blocks * heads;
#pragma omp parallel num_threads(static_cast<int>(threads))
    {
      eigen_detail::single_threaded_blas();
      eigen_detail::attention_grad_scratch<T> w;
#pragma omp for schedule(dynamic)
      for (std::int64_t task = 0; task < tasks; ++task) {
        if (by_head) {
          for (std::int64_t b = 0; b < blocks; ++b)
            run_block(b, task, eigen_detail::head_of(dk_use, task), eigen_detail::head_of(dv_use, task), w);
        } else {
          run_block(task / heads, task % heads, {}, {}, w);
        }
      }
    }
    return;
  }
  // About two (head, group) slots per thread balance the load; each group takes every groups-th block.
  const std::int64_t groups = std::min(blocks, (2 * threads + heads - 1) / heads);
  const std::int64_t size = tk * d;
  std::vector<T> private_k(want_k ? static_cast<std::size_t>((groups - 1) * heads * size) : 0);
  std::vector<T> private_v(want_v ? static_cast<std::size_t>((groups - 1) * heads * size) : 0);
  const auto target = [&](std::vector<T>& priv, const tensor_view<T>& grad, std::int64_t g, std::int64_t h) {
    if (grad.empty()) return eigen_detail::head_gradient<T>{};
    if (g == 0) return eigen_detail::head_of(grad, h);
    return eigen_detail::head_gradient<T>{priv.data() + ((g - 1) * heads + h) * size, d};
  };
#pragma omp parallel num_threads(static_cast<int>(threads))
  {
    eigen_detail::single_threaded_blas();
    eigen_detail::attention_grad_scratch<T> w;
#pragma omp for schedule(dynamic)
    for (std::int64_t slot = 0; slot < groups * heads; ++slot) {
      const std::int64_t h = slot % heads, g = slot / heads;
      const auto dk_to = target(private_k, dk_use, g, h), dv_to = target(private_v, dv_use, g, h);
      for (std::int64_t b = g; b < blocks; b += groups) run_block(b, h, dk_to, dv_to, w);
    }
#pragma omp for schedule(static)
    for (std::int64_t j = 0; j < tk; ++j)
      for (std::int64_t h = 0; h < heads; ++h)
        for (std::int64_t g = 1; g < groups; ++g) {
          const std::int64_t at = ((g - 1) * heads + h) * size + j * d;
          if (want_k) {
            T* dst = dk.data + j * dk.strides[0] + h * dk.strides[1];
            for (std::int64_t e = 0; e < d; ++e) dst[e] += private_k[at + e];
          }
          if (want_v) {
            T* dst = dv.data + j * dv.strides[0] + h * dv.strides[1];
            for (std::int64_t e = 0; e < d; ++e) dst[e] += private_v[at + e];
          }
        }
  }
}

}  // namespace patchzoo
