#pragma once
// row_argmax (one thread per row, first maximum wins) and the per-batch transpose of the last two dims.
#include <cstdint>

#include "patchzoo/backend/cuda/device/grid.cuh"

namespace patchzoo::cuda_device {

__global__ void row_argmax_kernel(std::int32_t* out, const float* in, std::int64_t rows, std::int64_t cols) {
  for (std::int64_t r = global_thread(); r < rows; r += grid_threads()) {
    const float* row = in + r * cols;
    std::int64_t best = 0;
    for (std::int64_t c = 1; c < cols; ++c)
      if (row[c] > row[best]) best = c;
    out[r] = static_cast<std::int32_t>(best);
  }
}

// One thread per output element out[b, j, i] = in[b, i, j], in being [batch, m, n].
__global__ void transpose_last2_kernel(float* out, const float* in, std::int64_t batch, std::int64_t m,
                                       std::int64_t n, bool accumulate) {
  const std::int64_t total = batch * m * n;
  for (std::int64_t k = global_thread(); k < total; k += grid_threads()) {
    const std::int64_t b = k / (m * n), rest = k % (m * n), j = rest / m, i = rest % m;
    const float v = in[b * m * n + i * n + j];
    out[k] = accumulate ? out[k] + v : v;
  }
}

}  // namespace patchzoo::cuda_device
