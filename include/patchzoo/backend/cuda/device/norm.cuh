#pragma once
// RMSNorm and LayerNorm over the last dimension of in[N, D]: one block per row for the forward pass and
// the input gradient; the weight and bias gradients are column sums over rows.
// `mean == nullptr` selects RMSNorm (no centering, no bias).
#include <cstdint>

#include "patchzoo/backend/cuda/device/reduce.cuh"

namespace patchzoo::cuda_device {

__global__ void norm_forward_kernel(float* out, float* mean_out, float* rstd_out, const float* in,
                                    const float* weight, const float* bias, std::int64_t d, float eps) {
  const std::int64_t row = blockIdx.x;
  const float* x = in + row * d;
  float* y = out + row * d;
  float mean = 0.0f;
  if (mean_out) {
    float s = 0.0f;
    for (std::int64_t j = threadIdx.x; j < d; j += blockDim.x) s += x[j];
    mean = block_sum(s) / static_cast<float>(d);
  }
  float sq = 0.0f;
  for (std::int64_t j = threadIdx.x; j < d; j += blockDim.x) sq += (x[j] - mean) * (x[j] - mean);
  const float rstd = 1.0f / sqrtf(block_sum(sq) / static_cast<float>(d) + eps);
  for (std::int64_t j = threadIdx.x; j < d; j += blockDim.x) {
    const float v = (x[j] - mean) * rstd * weight[j];
    y[j] = bias ? v + bias[j] : v;
  }
  if (threadIdx.x == 0) {
    rstd_out[row] = rstd;
    if (mean_out) mean_out[row] = mean;
  }
}

// din += rstd * (g - [mean(g)] - xhat * mean(g * xhat)) with g = dout * weight (bracket: LayerNorm only).
__global__ void norm_input_grad_kernel(float* din, const float* dout, const float* in, const float* weight,
                                       const float* mean, const float* rstd, std::int64_t d) {
  const std::int64_t row = blockIdx.x;
  const float* x = in + row * d;
  const float* dy = dout + row * d;
  const float mu = mean ? mean[row] : 0.0f, rs = rstd[row];
  float g_sum = 0.0f, gx_sum = 0.0f;
  for (std::int64_t j = threadIdx.x; j < d; j += blockDim.x) {
    const float g = dy[j] * weight[j];
    g_sum += g;
    gx_sum += g * (x[j] - mu) * rs;
  }
  const float g_mean = mean ? block_sum(g_sum) / static_cast<float>(d) : 0.0f;
  const float gx_mean = block_sum(gx_sum) / static_cast<float>(d);
  for (std::int64_t j = threadIdx.x; j < d; j += blockDim.x) {
    const float xhat = (x[j] - mu) * rs;
    din[row * d + j] += rs * (dy[j] * weight[j] - g_mean - xhat * gx_mean);
  }
}

// Block (32, 8) over 32 columns: dweight += sum_rows dout * xhat, dbias += sum_rows dout (either may be null).
__global__ void norm_param_grad_kernel(float* dweight, float* dbias, const float* dout, const float* in,
                                       const float* mean, const float* rstd, std::int64_t n, std::int64_t d) {
  __shared__ float partial_w[8][33];
  __shared__ float partial_b[8][33];
  const std::int64_t col = static_cast<std::int64_t>(blockIdx.x) * 32 + threadIdx.x;
  float acc_w = 0.0f, acc_b = 0.0f;
  if (col < d)
    for (std::int64_t row = threadIdx.y; row < n; row += 8) {
      const float dy = dout[row * d + col];
      acc_w += dy * (in[row * d + col] - (mean ? mean[row] : 0.0f)) * rstd[row];
      acc_b += dy;
    }
  partial_w[threadIdx.y][threadIdx.x] = acc_w;
  partial_b[threadIdx.y][threadIdx.x] = acc_b;
  __syncthreads();
  if (threadIdx.y == 0 && col < d) {
    float total_w = 0.0f, total_b = 0.0f;
    for (int r = 0; r < 8; ++r) {
      total_w += partial_w[r][threadIdx.x];
      total_b += partial_b[r][threadIdx.x];
    }
    if (dweight) dweight[col] += total_w;
    if (dbias) dbias[col] += total_b;
  }
}

}  // namespace patchzoo::cuda_device
