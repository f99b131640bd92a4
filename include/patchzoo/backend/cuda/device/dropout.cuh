#pragma once
// Dropout with the counter-based mask of core/rng.hpp: element i is kept iff uniform01_packed(seed, i)
// >= p, the same bits as the CPU backends, for any launch shape.
#include <cstdint>

#include "patchzoo/backend/cuda/device/grid.cuh"
#include "patchzoo/core/rng.hpp"

namespace patchzoo::cuda_device {

__global__ void dropout_forward_kernel(float* out, const float* in, std::int64_t n, float p, float keep_scale,
                                       std::uint64_t seed) {
  for (std::int64_t i = global_thread(); i < n; i += grid_threads())
    out[i] = uniform01_packed(seed, static_cast<std::uint64_t>(i)) >= p ? in[i] * keep_scale : 0.0f;
}

__global__ void dropout_backward_kernel(float* din, const float* dout, std::int64_t n, float p, float keep_scale,
                                        std::uint64_t seed) {
  for (std::int64_t i = global_thread(); i < n; i += grid_threads())
    if (uniform01_packed(seed, static_cast<std::uint64_t>(i)) >= p) din[i] += dout[i] * keep_scale;
}

}  // namespace patchzoo::cuda_device
