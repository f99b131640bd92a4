#pragma once
// The GPU backend: one CUDA stream and one cuBLAS handle per backend object. Ops are declared in
// cuda/ops.hpp for float and defined in src/cuda/*.cu (library patchzoo::cuda); this header holds no
// device code, so plain C++ units include it.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <string_view>

#include "patchzoo/backend/cuda/cuda_memory.hpp"

namespace patchzoo {

// Throws patchzoo::error("<call>: <cuBLAS status>") when a cuBLAS call failed.
void cublas_check(cublasStatus_t status, const char* call);

struct cuda_backend {
  static constexpr std::string_view name = "cuda";
  using memory = cuda_memory;

  // Doubles for the partial sums of reductions (sum, sum_squares).
  static constexpr int reduction_slots = 1024;

  cudaStream_t stream = nullptr;
  cublasHandle_t blas = nullptr;
  double* reduction_scratch = nullptr;
  int device = 0;

  // Throws patchzoo::error when `device` does not exist (also when the machine has no GPU at all).
  explicit cuda_backend(int device_index = 0);
  ~cuda_backend();
  cuda_backend(cuda_backend&& other) noexcept;
  cuda_backend& operator=(cuda_backend&&) = delete;
  cuda_backend(const cuda_backend&) = delete;
  cuda_backend& operator=(const cuda_backend&) = delete;

  // Waits for every op launched on this backend; reports a failed kernel as patchzoo::error.
  void synchronize();
};

}  // namespace patchzoo

#include "patchzoo/backend/cuda/ops.hpp"
