// Backend lifetime: device selection, stream, cuBLAS handle and the reduction scratch buffer.
#include "patchzoo/backend/cuda/cuda_backend.hpp"

#include <utility>

namespace patchzoo {

void cublas_check(cublasStatus_t status, const char* call) {
  if (status != CUBLAS_STATUS_SUCCESS) throw error(detail::concat(call, ": ", cublasGetStatusString(status)));
}

cuda_backend::cuda_backend(int device_index) : device(device_index) {
  const int count = cuda_device_count();
  check(device_index >= 0 && device_index < count, "cuda_backend", "device ", device_index,
        " requested but ", count, " CUDA device(s) are available");
  cuda_check(cudaSetDevice(device_index), "cuda_backend: cudaSetDevice");
  // A blocking stream: cuda_memory's copies on the legacy default stream stay ordered with our kernels.
  cuda_check(cudaStreamCreate(&stream), "cuda_backend: cudaStreamCreate");
  try {
    cublas_check(cublasCreate(&blas), "cuda_backend: cublasCreate");
    cublas_check(cublasSetStream(blas, stream), "cuda_backend: cublasSetStream");
    // Plain FP32 GEMM (no TF32), so results stay within the float tolerances of the CPU backends.
    cublas_check(cublasSetMathMode(blas, CUBLAS_DEFAULT_MATH), "cuda_backend: cublasSetMathMode");
    cuda_check(cudaMalloc(reinterpret_cast<void**>(&reduction_scratch), reduction_slots * sizeof(double)),
               "cuda_backend: cudaMalloc");
  } catch (...) {
    if (blas) cublasDestroy(blas);
    cudaStreamDestroy(stream);
    throw;
  }
}

cuda_backend::cuda_backend(cuda_backend&& other) noexcept
    : stream(std::exchange(other.stream, nullptr)),
      blas(std::exchange(other.blas, nullptr)),
      reduction_scratch(std::exchange(other.reduction_scratch, nullptr)),
      device(other.device) {}

cuda_backend::~cuda_backend() {
  // Release errors are ignored: a destructor must not throw.
  if (reduction_scratch) cudaFree(reduction_scratch);
  if (blas) cublasDestroy(blas);
  if (stream) cudaStreamDestroy(stream);
}

void cuda_backend::synchronize() { cuda_check(cudaStreamSynchronize(stream), "cuda_backend: cudaStreamSynchronize"); }

}  // namespace patchzoo
