#pragma once
// Rotary embedding in place on x[T, H, D], interleaved pairs (x0, x1) rotated by the angle of (token, pair).
// The backward pass applies the transpose rotation (sin negated) to the gradient.
#include <cstdint>

#include "patchzoo/backend/cuda/device/grid.cuh"

namespace patchzoo::cuda_device {

// One thread per (token, head, pair); sign = +1 forward, -1 backward.
__global__ void rope_kernel(float* x, const float* cos, const float* sin, std::int64_t tokens, std::int64_t heads,
                            std::int64_t pairs, std::int64_t row_stride, float sign) {
  const std::int64_t n = tokens * heads * pairs;
  for (std::int64_t idx = global_thread(); idx < n; idx += grid_threads()) {
    const std::int64_t pair = idx % pairs, h = (idx / pairs) % heads, t = idx / (pairs * heads);
    const float c = cos[t * pairs + pair], s = sign * sin[t * pairs + pair];
    float* p = x + t * row_stride + (h * pairs + pair) * 2;
    const float x0 = p[0], x1 = p[1];
    p[0] = x0 * c - x1 * s;
    p[1] = x0 * s + x1 * c;
  }
}

}  // namespace patchzoo::cuda_device
