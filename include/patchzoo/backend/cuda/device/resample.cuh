#pragma once
// Nearest-neighbour 2x upsampling and per-side zero padding of NCHW tensors. Every kernel is a
// grid-stride loop over the elements it writes, so the backward passes gather (no atomics): an input
// pixel sums its 2x2 block of dout, or takes its one interior dout value.
#include <cstdint>

#include "patchzoo/backend/cuda/device/grid.cuh"

namespace patchzoo::cuda_device {

// planes = N * C; h, w are the small (input) sizes.
__global__ void upsample_nearest2x_forward_kernel(float* out, const float* in, std::int64_t planes, std::int64_t h,
                                                  std::int64_t w) {
  const std::int64_t wo = 2 * w, ho = 2 * h;
  for (std::int64_t idx = global_thread(); idx < planes * ho * wo; idx += grid_threads()) {
    const std::int64_t x = idx % wo, y = (idx / wo) % ho, plane = idx / (wo * ho);
    out[idx] = in[(plane * h + y / 2) * w + x / 2];
  }
}

__global__ void upsample_nearest2x_backward_kernel(float* din, const float* dout, std::int64_t planes, std::int64_t h,
                                                   std::int64_t w) {
  const std::int64_t wo = 2 * w;
  for (std::int64_t idx = global_thread(); idx < planes * h * w; idx += grid_threads()) {
    const std::int64_t j = idx % w, i = (idx / w) % h, plane = idx / (w * h);
    const float* g = dout + (plane * 2 * h + 2 * i) * wo + 2 * j;
    din[idx] += (g[0] + g[1]) + (g[wo] + g[wo + 1]);
  }
}

struct pad2d_geometry {
  std::int64_t planes, h, w, ho, wo;
  int top, left;
};

__global__ void pad2d_forward_kernel(float* out, const float* in, pad2d_geometry g) {
  for (std::int64_t idx = global_thread(); idx < g.planes * g.ho * g.wo; idx += grid_threads()) {
    const std::int64_t x = idx % g.wo - g.left, y = (idx / g.wo) % g.ho - g.top, plane = idx / (g.wo * g.ho);
    out[idx] = (y >= 0 && y < g.h && x >= 0 && x < g.w) ? in[(plane * g.h + y) * g.w + x] : 0.0f;
  }
}

__global__ void pad2d_backward_kernel(float* din, const float* dout, pad2d_geometry g) {
  for (std::int64_t idx = global_thread(); idx < g.planes * g.h * g.w; idx += grid_threads()) {
    const std::int64_t x = idx % g.w, y = (idx / g.w) % g.h, plane = idx / (g.w * g.h);
    din[idx] += dout[(plane * g.ho + y + g.top) * g.wo + x + g.left];
  }
}

}  // namespace patchzoo::cuda_device
