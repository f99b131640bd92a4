#pragma once
// Thread indexing for grid-stride loops: any grid size covers any element count.
#include <cstdint>

namespace patchzoo::cuda_device {

__device__ inline std::int64_t global_thread() {
  return static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ inline std::int64_t grid_threads() { return static_cast<std::int64_t>(gridDim.x) * blockDim.x; }

}  // namespace patchzoo::cuda_device
