#pragma once
// One query against its own key range, all heads, exact softmax: the decode step of KV-cached sampling,
// where each sequence's single new position attends over its own cache (attention.hpp takes this path
// when the queries of a block see disjoint ranges).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "patchzoo/backend/eigen/eigen_includes.hpp"
#include "patchzoo/backend/eigen/float16x.hpp"

namespace patchzoo::eigen_detail {

// Per-thread scratch of the forward pass, reused across blocks.
template <class T>
struct attention_scratch {
  row_matrix<T> scores, acc;
  std::vector<T> row_max, row_sum;  // on the sparse path row_max holds one query's scores
};

// Softmax over each head's n scores in place (s[(h - h0) * n + j]); the output rows of those heads zeroed
// for the weighted sum of values that follows.
template <class T>
void query_softmax(T* s, std::int64_t n, T* o, const tensor_view<T>& lse, std::int64_t i, std::int64_t heads,
                   std::int64_t d, std::int64_t h0, std::int64_t h1) {
  for (std::int64_t h = h0; h < h1; ++h) {
    array_map<T> probs(s + (h - h0) * n, n);
    const T m = probs.maxCoeff();
    probs = (probs - m).exp();  // Eigen's vectorised exp
    const T total = probs.sum();
    probs /= total;
    lse.data[i * heads + h] = m + std::log(total);
    std::fill(o + h * d, o + (h + 1) * d, T(0));
  }
}

// o[h] += sum over keys j in [b, e) of p[h][j] v[j][h] (p at s[(h - h0) * (e - b) + j - b]), reading each
// value row's heads together: row by row, as the rows stream from memory. (Sums kept in registers one
// head at a time, over a block of keys, ran 1.5x slower from DRAM: the rows were read in halves.)
template <class T>
void add_weighted_values(T* o, const T* s, const const_view<T>& v, std::int64_t b, std::int64_t e, std::int64_t h0,
                         std::int64_t h1) {
  const std::int64_t d = v.dim(2), n = e - b;
  for (std::int64_t j = b; j < e; ++j) {
    const T* vj = v.data + j * v.strides[0];
    for (std::int64_t h = h0; h < h1; ++h) {
      const T p = s[(h - h0) * n + (j - b)];
#pragma omp simd
      for (std::int64_t c = 0; c < d; ++c) o[h * d + c] += p * vj[h * d + c];
    }
  }
}

// add_weighted_values for Heads float heads of 16 * Vectors dims, the sums in Heads x Vectors registers for
// the whole key range, each value row read whole and in order.
template <int Vectors, int Heads>
void add_weighted_values_vectors(float* o, const float* s, const const_view<float>& v, std::int64_t b, std::int64_t e,
                                 std::int64_t h0) {
  constexpr std::int64_t d = Vectors * float16x_lanes;
  const std::int64_t n = e - b;
  float16x acc[Heads][Vectors] = {};
  for (std::int64_t j = b; j < e; ++j) {
    const float* vj = v.data + j * v.strides[0] + h0 * d;
    for (int h = 0; h < Heads; ++h) {
      const float p = s[h * n + (j - b)];
      for (int c = 0; c < Vectors; ++c) acc[h][c] += p * *vec16(vj + h * d + c * float16x_lanes);
    }
  }
  for (int h = 0; h < Heads; ++h)
    for (int c = 0; c < Vectors; ++c) *vec16(o + (h0 + h) * d + c * float16x_lanes) += acc[h][c];
}

// attention_forward_query for float heads of 16 * Vectors dims: the scores as 16 (key, head) dot products
// at a time in vector registers, reduced together (lane_sums16) instead of one lane sum per key and head,
// each key's heads together so that cache rows are read whole and in order (where the heads do not
// divide 16, and for the keys left over, one dot product at a time); the weighted values of 1, 2 or 4
// heads summed in registers. About 1.8x faster than the plain loops with the caches in L3, 1.3x from
// DRAM (bench_attention BM_decode_attention).
template <int Vectors>
void attention_query_vectors(const tensor_view<float>& out, const tensor_view<float>& lse, const const_view<float>& q,
                             const const_view<float>& k, const const_view<float>& v, const std::int32_t* ranges,
                             float scale, std::int64_t i, std::int64_t h0, std::int64_t h1, attention_scratch<float>& w) {
  constexpr int block = float16x_lanes;
  const std::int64_t heads = q.dim(1), d = q.dim(2), b = ranges[2 * i], e = ranges[2 * i + 1], n = e - b;
  float* o = out.data + i * out.strides[0];
  const float* qi = q.data + i * q.strides[0];
  w.row_max.resize(static_cast<std::size_t>(n * (h1 - h0)));
  float* s = w.row_max.data();  // scores of head h at s[(h - h0) * n + (j - b)]
  const std::int64_t span = h1 - h0, keys_per_block = block % span == 0 ? block / span : 0;
  std::int64_t j = b;
  if (keys_per_block > 0)
    for (; j + keys_per_block <= e; j += keys_per_block) {
      float16x dots[block];
      for (std::int64_t key = 0; key < keys_per_block; ++key) {
        const float* kj = k.data + (j + key) * k.strides[0];
        for (std::int64_t h = h0; h < h1; ++h) {
          float16x& dot = dots[key * span + (h - h0)];
          dot = *vec16(qi + h * d) * *vec16(kj + h * d);
          for (int c = 1; c < Vectors; ++c) dot += *vec16(qi + h * d + c * block) * *vec16(kj + h * d + c * block);
        }
      }
      alignas(64) float sums[block];
      lane_sums16(dots, scale, sums);
      for (std::int64_t key = 0; key < keys_per_block; ++key)
        for (std::int64_t h = h0; h < h1; ++h) s[(h - h0) * n + (j + key - b)] = sums[key * span + (h - h0)];
    }
  for (; j < e; ++j) {  // the keys left over, one dot product at a time
    const float* kj = k.data + j * k.strides[0];
    for (std::int64_t h = h0; h < h1; ++h) {
      float16x dot = *vec16(qi + h * d) * *vec16(kj + h * d);
      for (int c = 1; c < Vectors; ++c) dot += *vec16(qi + h * d + c * block) * *vec16(kj + h * d + c * block);
      s[(h - h0) * n + (j - b)] = scale * lane_sum(dot);
    }
  }
  query_softmax(s, n, o, lse, i, heads, d, h0, h1);
  // Sums in at most 16 registers: 1 or 2 heads of any size, 4 heads of up to 64 dims.
  if (span == 1) return add_weighted_values_vectors<Vectors, 1>(o, s, v, b, e, h0);
  if (span == 2) return add_weighted_values_vectors<Vectors, 2>(o, s, v, b, e, h0);
  if constexpr (Vectors <= 4)
    if (span == 4) return add_weighted_values_vectors<Vectors, 4>(o, s, v, b, e, h0);
  add_weighted_values(o, s, v, b, e, h0, h1);
}

// attention_forward_query by plain loops over each key row's heads in turn, so a decode step streams every
// cache row once; at these sizes (one query, a few hundred keys) a BLAS gemv call costs more in setup than
// the arithmetic. Any type and head size; n = the query's keys, at least one.
template <class T>
void attention_query_loops(const tensor_view<T>& out, const tensor_view<T>& lse, const const_view<T>& q,
                           const const_view<T>& k, const const_view<T>& v, const std::int32_t* ranges, T scale,
                           std::int64_t i, std::int64_t h0, std::int64_t h1, attention_scratch<T>& w) {
  const std::int64_t heads = q.dim(1), d = q.dim(2), b = ranges[2 * i], e = ranges[2 * i + 1], n = e - b;
  T* o = out.data + i * out.strides[0];
  const T* qi = q.data + i * q.strides[0];
  w.row_max.resize(static_cast<std::size_t>(n * (h1 - h0)));
  T* s = w.row_max.data();  // scores of head h at s[(h - h0) * n + (j - b)]
  for (std::int64_t j = b; j < e; ++j) {
    const T* kj = k.data + j * k.strides[0];
    for (std::int64_t h = h0; h < h1; ++h) {
      T dot = 0;
#pragma omp simd reduction(+ : dot)
      for (std::int64_t c = 0; c < d; ++c) dot += qi[h * d + c] * kj[h * d + c];
      s[(h - h0) * n + (j - b)] = scale * dot;
    }
  }
  query_softmax(s, n, o, lse, i, heads, d, h0, h1);
  add_weighted_values(o, s, v, b, e, h0, h1);
}

// Query i against its own key range for heads [h0, h1), exact softmax (the range is at most the model's
// context): float heads of 16, 32, 64 or 128 dims by attention_query_vectors, others by the plain loops.
template <class T>
void attention_forward_query(const tensor_view<T>& out, const tensor_view<T>& lse, const const_view<T>& q,
                             const const_view<T>& k, const const_view<T>& v, const std::int32_t* ranges, T scale,
                             std::int64_t i, std::int64_t h0, std::int64_t h1, attention_scratch<T>& w) {
  const std::int64_t heads = q.dim(1), d = q.dim(2), n = ranges[2 * i + 1] - ranges[2 * i];
  if (n <= 0) {
    T* o = out.data + i * out.strides[0];
    for (std::int64_t h = h0; h < h1; ++h) {
      std::fill(o + h * d, o + (h + 1) * d, T(0));
      lse.data[i * heads + h] = -std::numeric_limits<T>::infinity();
    }
    return;
  }
  if constexpr (std::is_same_v<T, float>) {
    switch (d) {
      case 16: return attention_query_vectors<1>(out, lse, q, k, v, ranges, scale, i, h0, h1, w);
      case 32: return attention_query_vectors<2>(out, lse, q, k, v, ranges, scale, i, h0, h1, w);
      case 64: return attention_query_vectors<4>(out, lse, q, k, v, ranges, scale, i, h0, h1, w);
      case 128: return attention_query_vectors<8>(out, lse, q, k, v, ranges, scale, i, h0, h1, w);
      default: break;
    }
  }
  attention_query_loops(out, lse, q, k, v, ranges, scale, i, h0, h1, w);
}

}  // namespace patchzoo::eigen_detail
