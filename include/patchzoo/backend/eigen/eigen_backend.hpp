#pragma once
// The fast CPU backend: Eigen GEMM (OpenBLAS underneath when EIGEN_USE_BLAS is set by the build),
// fused element-wise loops, OpenMP across rows and across sequence x head blocks in attention.
#include <string_view>

#include "patchzoo/backend/concepts.hpp"

namespace patchzoo {

struct eigen_backend {
  static constexpr std::string_view name = "eigen";
  using memory = host_memory;
  void synchronize() {}
};

}  // namespace patchzoo

#include "patchzoo/backend/eigen/ops.hpp"
