#pragma once
// The fast CPU backend: Eigen GEMM (OpenBLAS underneath when EIGEN_USE_BLAS is set by the build),
// fused element-wise loops, OpenMP across rows and across sequence x head blocks in attention.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "patchzoo/backend/concepts.hpp"
#include "patchzoo/backend/cpu_caches.hpp"

namespace patchzoo {

struct eigen_backend {
  static constexpr std::string_view name = "eigen";
  using memory = host_memory;
  // x W with W kept transposed runs the broadcast GEMM of matmul.hpp, faster than x W^T (sgemm, or the
  // few-row path up to 8 rows) from 9 rows when the weights stream from memory and from 2 rows when they
  // stay in cache between decode steps (nn/transposed_weights.hpp; bench_gemm decode_projections_cold and
  // decode_projections).
  static constexpr std::int64_t transposed_weight_min_rows = 9;
  static constexpr std::int64_t transposed_weight_min_rows_cached = 2;
  // A decode step's working set stays in cache within a third of the last-level cache: sampling decodes
  // its images in groups whose KV caches fit (dpar/sampler.hpp). On the 32 MiB Zen 4 VM, 20 images at
  // 16 x 16 (about 2 MiB of caches each) sampled 1.2-1.5x faster in groups of 4-5 than all at once, and
  // groups of 7 or 10 gained less (bench_dpar BM_sample_baseline_grouped_vs_all; docs/performance.md).
  static std::size_t decode_cache_budget_bytes() { return last_level_cache_bytes() / 3; }
  // The broadcast GEMM over weights in cache: 64 GFLOP/s at 4 rows, 100 at 8, 98 at 20 (one Zen 4 core,
  // bench_gemm decode_projections), so groups need no more images than give 8 rows.
  static constexpr std::int64_t decode_full_rate_rows = 8;
  void synchronize() {}
};

}  // namespace patchzoo

#include "patchzoo/backend/eigen/ops.hpp"
