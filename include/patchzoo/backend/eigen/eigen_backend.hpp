#pragma once
// The fast CPU backend: Eigen GEMM (OpenBLAS underneath when EIGEN_USE_BLAS is set by the build),
// fused element-wise loops, OpenMP across rows and across sequence x head blocks in attention.
#include <string_view>

#include "patchzoo/backend/concepts.hpp"

namespace patchzoo {

struct eigen_backend {
  static constexpr std::string_view name = "eigen";
  using memory = host_memory;
  // Past the few-row path of matmul.hpp (8 rows), x W with W kept transposed runs its broadcast GEMM,
  // faster than sgemm's x W^T at 9-256 rows (nn/transposed_weights.hpp, bench_gemm decode_projections).
  static constexpr std::int64_t transposed_weight_min_rows = 9;
  void synchronize() {}
};

}  // namespace patchzoo

#include "patchzoo/backend/eigen/ops.hpp"
