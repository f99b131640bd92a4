#pragma once
// Element-wise kernels and the two-pass reductions (sum, sum of squares) behind sum() / sum_squares().
#include <cstdint>

#include "patchzoo/backend/cuda/device/grid.cuh"
#include "patchzoo/backend/cuda/device/reduce.cuh"

namespace patchzoo::cuda_device {

__global__ void fill_kernel(float* x, std::int64_t n, float value) {
  for (std::int64_t i = global_thread(); i < n; i += grid_threads()) x[i] = value;
}

__global__ void scale_kernel(float* x, std::int64_t n, float alpha) {
  for (std::int64_t i = global_thread(); i < n; i += grid_threads()) x[i] *= alpha;
}

// out may alias a or b: each element is read before it is written, by the same thread.
__global__ void add_kernel(float* out, const float* a, const float* b, std::int64_t n) {
  for (std::int64_t i = global_thread(); i < n; i += grid_threads()) out[i] = a[i] + b[i];
}

__global__ void accumulate_kernel(float* dst, const float* src, std::int64_t n, float alpha) {
  for (std::int64_t i = global_thread(); i < n; i += grid_threads()) dst[i] += alpha * src[i];
}

// Pass 1: one double partial per block (squares when `squares`). Pass 2: one block sums the partials.
__global__ void partial_sums_kernel(const float* x, std::int64_t n, bool squares, double* partials) {
  double acc = 0.0;
  for (std::int64_t i = global_thread(); i < n; i += grid_threads()) {
    const double v = x[i];
    acc += squares ? v * v : v;
  }
  acc = block_sum(acc);
  if (threadIdx.x == 0) partials[blockIdx.x] = acc;
}

__global__ void final_sum_kernel(double* partials, int count) {
  double acc = 0.0;
  for (int i = threadIdx.x; i < count; i += blockDim.x) acc += partials[i];
  acc = block_sum(acc);
  if (threadIdx.x == 0) partials[0] = acc;
}

}  // namespace patchzoo::cuda_device
