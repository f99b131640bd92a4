#pragma once
// Row-wise softmax, its backward, and cross-entropy over logits[N, V]: one block per row.
#include <cstdint>

#include "patchzoo/backend/cuda/device/reduce.cuh"

namespace patchzoo::cuda_device {

// probs = softmax(row); returns log(sum(exp(x - max))) + max, the row's log-sum-exp, to every thread.
__device__ inline float softmax_row(float* probs, const float* x, std::int64_t c) {
  float m = -INFINITY;
  for (std::int64_t j = threadIdx.x; j < c; j += blockDim.x) m = fmaxf(m, x[j]);
  m = block_max(m);
  float s = 0.0f;
  for (std::int64_t j = threadIdx.x; j < c; j += blockDim.x) {
    const float e = expf(x[j] - m);
    probs[j] = e;
    s += e;
  }
  s = block_sum(s);
  const float inv = 1.0f / s;
  for (std::int64_t j = threadIdx.x; j < c; j += blockDim.x) probs[j] *= inv;
  return m + logf(s);
}

__global__ void softmax_forward_kernel(float* out, const float* in, std::int64_t c) {
  const std::int64_t row = blockIdx.x;
  softmax_row(out + row * c, in + row * c, c);
}

// din += out * (dout - sum(dout * out))
__global__ void softmax_backward_kernel(float* din, const float* dout, const float* out, std::int64_t c) {
  const std::int64_t base = static_cast<std::int64_t>(blockIdx.x) * c;
  float dot = 0.0f;
  for (std::int64_t j = threadIdx.x; j < c; j += blockDim.x) dot += dout[base + j] * out[base + j];
  dot = block_sum(dot);
  for (std::int64_t j = threadIdx.x; j < c; j += blockDim.x) din[base + j] += out[base + j] * (dout[base + j] - dot);
}

// losses[i] = logsumexp(logits_i) - logits_i[t_i], or 0 where t_i == ignore_index.
__global__ void cross_entropy_forward_kernel(float* losses, float* probs, const float* logits,
                                             const std::int32_t* targets, std::int32_t ignore_index,
                                             std::int64_t v) {
  const std::int64_t row = blockIdx.x;
  const float lse = softmax_row(probs + row * v, logits + row * v, v);
  if (threadIdx.x == 0) {
    const std::int32_t t = targets[row];
    losses[row] = t == ignore_index ? 0.0f : lse - logits[row * v + t];
  }
}

// dlogits += scale * (probs - onehot(t)) on rows whose target is not ignore_index.
__global__ void cross_entropy_backward_kernel(float* dlogits, const float* probs, const std::int32_t* targets,
                                              std::int32_t ignore_index, float scale, std::int64_t v) {
  const std::int64_t row = blockIdx.x;
  const std::int32_t t = targets[row];
  if (t == ignore_index) return;
  for (std::int64_t j = threadIdx.x; j < v; j += blockDim.x)
    dlogits[row * v + j] += scale * (probs[row * v + j] - (j == t ? 1.0f : 0.0f));
}

}  // namespace patchzoo::cuda_device
