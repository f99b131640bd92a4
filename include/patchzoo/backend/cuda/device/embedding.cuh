#pragma once
// Row gather out[i] = table[ids[i]] and its scatter-add gradient (atomics: ids repeat).
#include <cstdint>

#include "patchzoo/backend/cuda/device/grid.cuh"

namespace patchzoo::cuda_device {

__global__ void embedding_forward_kernel(float* out, const std::int32_t* ids, const float* table, std::int64_t n,
                                         std::int64_t d) {
  for (std::int64_t i = global_thread(); i < n * d; i += grid_threads()) out[i] = table[ids[i / d] * d + i % d];
}

__global__ void embedding_backward_kernel(float* dtable, const float* dout, const std::int32_t* ids, std::int64_t n,
                                          std::int64_t d) {
  for (std::int64_t i = global_thread(); i < n * d; i += grid_threads())
    atomicAdd(&dtable[ids[i / d] * d + i % d], dout[i]);
}

}  // namespace patchzoo::cuda_device
