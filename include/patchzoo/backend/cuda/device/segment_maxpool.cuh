#pragma once
// Max over variable-length row segments of in[T, D]: argmax holds the winning row (first on ties),
// -1 for an empty segment (whose output is 0). The backward pass scatters dout to those rows.
#include <cstdint>

#include "patchzoo/backend/cuda/device/grid.cuh"

namespace patchzoo::cuda_device {

__global__ void segment_maxpool_forward_kernel(float* out, std::int32_t* argmax, const float* in,
                                               const std::int32_t* offsets, std::int64_t segments, std::int64_t d) {
  for (std::int64_t idx = global_thread(); idx < segments * d; idx += grid_threads()) {
    const std::int64_t s = idx / d, col = idx % d;
    std::int32_t best_row = -1;
    float best = 0.0f;
    for (std::int32_t row = offsets[s]; row < offsets[s + 1]; ++row) {
      const float value = in[row * d + col];
      if (best_row < 0 || value > best) {
        best = value;
        best_row = row;
      }
    }
    out[idx] = best;
    argmax[idx] = best_row;
  }
}

// Atomics: nothing forbids segments from overlapping.
__global__ void segment_maxpool_backward_kernel(float* din, const float* dout, const std::int32_t* argmax,
                                                std::int64_t segments, std::int64_t d) {
  for (std::int64_t idx = global_thread(); idx < segments * d; idx += grid_threads()) {
    const std::int32_t row = argmax[idx];
    if (row >= 0) atomicAdd(&din[row * d + idx % d], dout[idx]);
  }
}

}  // namespace patchzoo::cuda_device
