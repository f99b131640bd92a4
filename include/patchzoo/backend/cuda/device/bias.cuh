#pragma once
// Bias add over rows of x[N, C], and its gradient: the column sums of dout[N, C].
#include <cstdint>

#include "patchzoo/backend/cuda/device/grid.cuh"

namespace patchzoo::cuda_device {

__global__ void add_bias_kernel(float* x, const float* bias, std::int64_t n, std::int64_t c) {
  for (std::int64_t i = global_thread(); i < n * c; i += grid_threads()) x[i] += bias[i % c];
}

// Block (32, 8): 32 adjacent columns (coalesced reads), 8 row lanes summed in shared memory.
// Also the column-sum pass of the norm weight gradients.
__global__ void column_sums_kernel(float* sums, const float* x, std::int64_t n, std::int64_t c) {
  __shared__ float partial[8][33];
  const std::int64_t col = static_cast<std::int64_t>(blockIdx.x) * 32 + threadIdx.x;
  float acc = 0.0f;
  if (col < c)
    for (std::int64_t row = threadIdx.y; row < n; row += 8) acc += x[row * c + col];
  partial[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && col < c) {
    float total = 0.0f;
    for (int r = 0; r < 8; ++r) total += partial[r][threadIdx.x];
    sums[col] += total;
  }
}

}  // namespace patchzoo::cuda_device
