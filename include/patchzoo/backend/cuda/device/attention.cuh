#pragma once
// Range attention: one warp per (query, head), lanes split the head dimension. The forward pass streams
// the query's key range once with an online softmax (running max m, running sum l) and saves
// lse = m + log(l); the backward pass recomputes p = exp(score - lse) per key.
// Shared memory holds each warp's head-dim vectors; a lane only touches the entries d == lane (mod 32),
// so no synchronisation is needed inside a warp.
#include <cstdint>

#include "patchzoo/backend/cuda/device/reduce.cuh"

namespace patchzoo::cuda_device {

inline constexpr int attention_warps = 4;

// Row strides (elements between consecutive tokens) of q/k/v-like [T, H, D] tensors.
struct attention_strides {
  std::int64_t q, k, v, out;
};

__device__ inline float warp_dot(const float* a, const float* b, int d, int lane) {
  float acc = 0.0f;
  for (int j = lane; j < d; j += 32) acc += a[j] * b[j];
  return warp_sum(acc);
}

__global__ void attention_forward_kernel(float* out, float* lse, const float* q, const float* k, const float* v,
                                         const std::int32_t* kv_range, attention_strides st, std::int64_t tq,
                                         int heads, int d, float scale) {
  extern __shared__ float smem[];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const std::int64_t task = static_cast<std::int64_t>(blockIdx.x) * attention_warps + warp;
  if (task >= tq * heads) return;
  const std::int64_t i = task / heads;
  const int h = static_cast<int>(task % heads);
  float* qs = smem + warp * 2 * d;
  float* acc = qs + d;
  const float* qrow = q + i * st.q + h * d;
  for (int j = lane; j < d; j += 32) {
    qs[j] = qrow[j];
    acc[j] = 0.0f;
  }
  float m = -INFINITY, l = 0.0f;
  for (std::int32_t key = kv_range[2 * i]; key < kv_range[2 * i + 1]; ++key) {
    const float s = scale * warp_dot(qs, k + key * st.k + h * d, d, lane);
    const float m_new = fmaxf(m, s);
    const float correction = expf(m - m_new);  // 0 on the first key (m = -inf)
    const float p = expf(s - m_new);
    l = l * correction + p;
    const float* vrow = v + key * st.v + h * d;
    for (int j = lane; j < d; j += 32) acc[j] = acc[j] * correction + p * vrow[j];
    m = m_new;
  }
  float* orow = out + i * st.out + h * d;
  const float inv = l > 0.0f ? 1.0f / l : 0.0f;
  for (int j = lane; j < d; j += 32) orow[j] = acc[j] * inv;
  if (lane == 0) lse[i * heads + h] = l > 0.0f ? m + logf(l) : -INFINITY;
}

// With p = exp(s - lse), dp = dout . v_key and delta = dout . out:  ds = p (dp - delta);
// dq += scale ds k_key, dk_key += scale ds q, dv_key += p dout. Keys are shared between queries, so dk
// and dv use atomics; dq belongs to this warp alone. Null gradient pointers are skipped.
__global__ void attention_backward_kernel(float* dq, float* dk, float* dv, const float* dout, const float* q,
                                          const float* k, const float* v, const float* out, const float* lse,
                                          const std::int32_t* kv_range, attention_strides st,
                                          attention_strides grad_st, std::int64_t dout_stride, std::int64_t tq,
                                          int heads, int d, float scale) {
  extern __shared__ float smem[];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const std::int64_t task = static_cast<std::int64_t>(blockIdx.x) * attention_warps + warp;
  if (task >= tq * heads) return;
  const std::int64_t i = task / heads;
  const int h = static_cast<int>(task % heads);
  const std::int32_t begin = kv_range[2 * i], end = kv_range[2 * i + 1];
  if (begin >= end) return;
  float* qs = smem + warp * 3 * d;
  float* dos = qs + d;
  float* dqs = dos + d;
  const float* qrow = q + i * st.q + h * d;
  const float* dorow = dout + i * dout_stride + h * d;
  for (int j = lane; j < d; j += 32) {
    qs[j] = qrow[j];
    dos[j] = dorow[j];
    dqs[j] = 0.0f;
  }
  const float delta = warp_dot(dos, out + i * st.out + h * d, d, lane);
  const float row_lse = lse[i * heads + h];
  for (std::int32_t key = begin; key < end; ++key) {
    const float* krow = k + key * st.k + h * d;
    const float* vrow = v + key * st.v + h * d;
    const float p = expf(scale * warp_dot(qs, krow, d, lane) - row_lse);
    const float ds = p * (warp_dot(dos, vrow, d, lane) - delta);
    for (int j = lane; j < d; j += 32) {
      dqs[j] += scale * ds * krow[j];
      if (dk) atomicAdd(&dk[key * grad_st.k + h * d + j], scale * ds * qs[j]);
      if (dv) atomicAdd(&dv[key * grad_st.v + h * d + j], p * dos[j]);
    }
  }
  if (dq)
    for (int j = lane; j < d; j += 32) dq[i * grad_st.q + h * d + j] += dqs[j];
}

}  // namespace patchzoo::cuda_device
