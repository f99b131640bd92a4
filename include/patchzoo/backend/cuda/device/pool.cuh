#pragma once
// 2-D average and max pooling over kernel x kernel windows with a stride, no padding (NCHW). Backward
// passes gather for avgpool (each input sums the windows that cover it) and scatter with atomics for
// maxpool (overlapping windows may pick the same input).
#include <cstdint>

#include "patchzoo/backend/cuda/device/grid.cuh"

namespace patchzoo::cuda_device {

struct pool_geometry {
  std::int64_t planes, h, w, ho, wo;  // planes = N * C
  int kernel, stride;
};

__global__ void avgpool_forward_kernel(float* out, const float* in, pool_geometry g) {
  const float inv = 1.0f / static_cast<float>(g.kernel * g.kernel);
  for (std::int64_t idx = global_thread(); idx < g.planes * g.ho * g.wo; idx += grid_threads()) {
    const std::int64_t ox = idx % g.wo, oy = (idx / g.wo) % g.ho, plane = idx / (g.wo * g.ho);
    const float* base = in + (plane * g.h + oy * g.stride) * g.w + ox * g.stride;
    float acc = 0.0f;
    for (int i = 0; i < g.kernel; ++i)
      for (int j = 0; j < g.kernel; ++j) acc += base[i * g.w + j];
    out[idx] = acc * inv;
  }
}

// din[r, c] += sum over windows (oy, ox) containing (r, c) of dout[oy, ox] / kernel^2.
__global__ void avgpool_backward_kernel(float* din, const float* dout, pool_geometry g) {
  const float inv = 1.0f / static_cast<float>(g.kernel * g.kernel);
  for (std::int64_t idx = global_thread(); idx < g.planes * g.h * g.w; idx += grid_threads()) {
    const std::int64_t c = idx % g.w, r = (idx / g.w) % g.h, plane = idx / (g.w * g.h);
    // Windows oy with oy*stride <= r < oy*stride + kernel.
    const std::int64_t oy_lo = r >= g.kernel ? (r - g.kernel) / g.stride + 1 : 0;
    const std::int64_t ox_lo = c >= g.kernel ? (c - g.kernel) / g.stride + 1 : 0;
    const std::int64_t oy_hi = min(r / g.stride, g.ho - 1), ox_hi = min(c / g.stride, g.wo - 1);
    float acc = 0.0f;
    for (std::int64_t oy = oy_lo; oy <= oy_hi; ++oy)
      for (std::int64_t ox = ox_lo; ox <= ox_hi; ++ox) acc += dout[(plane * g.ho + oy) * g.wo + ox];
    din[idx] += acc * inv;
  }
}

// argmax = flat index into the whole input tensor; the first maximum in row-major window order wins.
__global__ void maxpool_forward_kernel(float* out, std::int32_t* argmax, const float* in, pool_geometry g) {
  for (std::int64_t idx = global_thread(); idx < g.planes * g.ho * g.wo; idx += grid_threads()) {
    const std::int64_t ox = idx % g.wo, oy = (idx / g.wo) % g.ho, plane = idx / (g.wo * g.ho);
    std::int64_t best_at = (plane * g.h + oy * g.stride) * g.w + ox * g.stride;
    float best = in[best_at];
    for (int i = 0; i < g.kernel; ++i)
      for (int j = 0; j < g.kernel; ++j) {
        const std::int64_t at = (plane * g.h + oy * g.stride + i) * g.w + ox * g.stride + j;
        if (in[at] > best) {
          best = in[at];
          best_at = at;
        }
      }
    out[idx] = best;
    argmax[idx] = static_cast<std::int32_t>(best_at);
  }
}

__global__ void maxpool_backward_kernel(float* din, const float* dout, const std::int32_t* argmax, std::int64_t n) {
  for (std::int64_t idx = global_thread(); idx < n; idx += grid_threads()) atomicAdd(&din[argmax[idx]], dout[idx]);
}

}  // namespace patchzoo::cuda_device
