#pragma once
// Host-side helpers shared by the launchers in src/cuda/*.cu: grid sizes, launch checks, and host copies
// of index tensors for the range contracts.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "patchzoo/backend/cuda/cuda_backend.hpp"
#include "patchzoo/core/tensor_view.hpp"

namespace patchzoo::cuda_detail {

inline constexpr int block_size = 256;

// Blocks for a grid-stride loop over n elements (capped: the loop covers the rest).
inline unsigned grid_for(std::int64_t n, int threads = block_size) {
  const std::int64_t blocks = (n + threads - 1) / threads;
  return static_cast<unsigned>(std::clamp<std::int64_t>(blocks, 1, 65535LL * 16));
}

// Reports a bad launch configuration at once; errors inside the kernel surface at synchronize().
inline void check_launch(const char* op) { cuda_check(cudaGetLastError(), op); }

// Index values are checked by the host-side contracts (indices_in_range, kv_ranges, ...): copied back first.
template <class T>
std::vector<T> to_host(const char* op, const char* name, const const_view<T>& v) {
  expect_contiguous(op, name, v);
  std::vector<T> host(static_cast<std::size_t>(v.numel()));
  if (!host.empty())
    cuda_check(cudaMemcpy(host.data(), v.data, host.size() * sizeof(T), cudaMemcpyDeviceToHost),
               detail::concat(op, ": cudaMemcpy of ", name, " to the host").c_str());
  return host;
}

}  // namespace patchzoo::cuda_detail
