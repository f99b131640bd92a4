#pragma once
// GroupNorm over in[N, C, H, W]: a (sample, group) is one contiguous block of m = (C / G) H W values, so
// one thread block per (sample, group) computes its statistics (two passes, double block sums) and writes
// the output or the input gradient; the weight and bias gradients take one thread block per channel.
#include <cstdint>

#include "patchzoo/backend/cuda/device/reduce.cuh"

namespace patchzoo::cuda_device {

struct group_norm_geometry {
  std::int64_t n, c, hw;  // samples, channels, H * W
  int groups;
};

__global__ void group_norm_forward_kernel(float* out, float* mean_out, float* rstd_out, const float* in,
                                          const float* weight, const float* bias, group_norm_geometry g, float eps) {
  const std::int64_t ng = blockIdx.x, cg = g.c / g.groups, m = cg * g.hw, c0 = (ng % g.groups) * cg;
  const float* x = in + ng * m;
  float* y = out + ng * m;
  double s = 0.0;
  for (std::int64_t i = threadIdx.x; i < m; i += blockDim.x) s += x[i];
  const double mu = block_sum(s) / static_cast<double>(m);
  double sq = 0.0;
  for (std::int64_t i = threadIdx.x; i < m; i += blockDim.x) sq += (x[i] - mu) * (x[i] - mu);
  const double r = 1.0 / sqrt(block_sum(sq) / static_cast<double>(m) + static_cast<double>(eps));
  const float muf = static_cast<float>(mu), rf = static_cast<float>(r);
  for (std::int64_t i = threadIdx.x; i < m; i += blockDim.x) {
    const std::int64_t c = c0 + i / g.hw;
    y[i] = (x[i] - muf) * rf * weight[c] + bias[c];
  }
  if (threadIdx.x == 0) {
    mean_out[ng] = muf;
    rstd_out[ng] = rf;
  }
}

// din += r (w g - mean(w g) - xhat mean(w g xhat)) over the (sample, group).
__global__ void group_norm_input_grad_kernel(float* din, const float* dout, const float* in, const float* weight,
                                             const float* mean, const float* rstd, group_norm_geometry g) {
  const std::int64_t ng = blockIdx.x, cg = g.c / g.groups, m = cg * g.hw, c0 = (ng % g.groups) * cg;
  const float* x = in + ng * m;
  const float* dy = dout + ng * m;
  const float mu = mean[ng], r = rstd[ng];
  double gw_sum = 0.0, gwx_sum = 0.0;
  for (std::int64_t i = threadIdx.x; i < m; i += blockDim.x) {
    const float gw = dy[i] * weight[c0 + i / g.hw];
    gw_sum += gw;
    gwx_sum += static_cast<double>(gw) * ((x[i] - mu) * r);
  }
  const float gw_mean = static_cast<float>(block_sum(gw_sum) / static_cast<double>(m));
  const float gwx_mean = static_cast<float>(block_sum(gwx_sum) / static_cast<double>(m));
  for (std::int64_t i = threadIdx.x; i < m; i += blockDim.x) {
    const float xhat = (x[i] - mu) * r;
    din[ng * m + i] += r * (dy[i] * weight[c0 + i / g.hw] - gw_mean - xhat * gwx_mean);
  }
}

// One block per channel c: dweight[c] += sum over n, hw of dout xhat; dbias[c] += sum of dout (either may be null).
__global__ void group_norm_param_grad_kernel(float* dweight, float* dbias, const float* dout, const float* in,
                                             const float* mean, const float* rstd, group_norm_geometry g) {
  const std::int64_t c = blockIdx.x, cg = g.c / g.groups;
  double dw = 0.0, db = 0.0;
  for (std::int64_t n = 0; n < g.n; ++n) {
    const std::int64_t ng = n * g.groups + c / cg, base = (n * g.c + c) * g.hw;
    const float mu = mean[ng], r = rstd[ng];
    for (std::int64_t i = threadIdx.x; i < g.hw; i += blockDim.x) {
      const float dy = dout[base + i];
      dw += static_cast<double>(dy) * ((in[base + i] - mu) * r);
      db += dy;
    }
  }
  dw = block_sum(dw);
  db = block_sum(db);
  if (threadIdx.x == 0) {
    if (dweight) dweight[c] += static_cast<float>(dw);
    if (dbias) dbias[c] += static_cast<float>(db);
  }
}

}  // namespace patchzoo::cuda_device
