#pragma once
// Device memory space for tensor<T, cuda_memory>, and the checks that turn CUDA status codes into
// patchzoo::error. Host code only (plain g++ may include it): the CUDA runtime's C API, no kernels.
#include <cuda_runtime_api.h>

#include <cstddef>

#include "patchzoo/core/error.hpp"

namespace patchzoo {

// Throws patchzoo::error("<call>: <CUDA's own description>") when a CUDA runtime call failed.
inline void cuda_check(cudaError_t status, const char* call) {
  if (status != cudaSuccess) {
    cudaGetLastError();  // clears a non-sticky error so that the next call does not report it again
    throw error(detail::concat(call, ": ", cudaGetErrorName(status), " (", cudaGetErrorString(status), ")"));
  }
}

// Number of usable CUDA devices; 0 (never an error) when there is no device or no driver.
inline int cuda_device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return count;
}

// Plain cudaMalloc'd memory. Copies use the legacy default stream, which orders them with the kernels
// that the backend launches on its (blocking) stream.
struct cuda_memory {
  static constexpr bool is_host = false;

  static void* allocate(std::size_t bytes) {
    if (bytes == 0) return nullptr;
    void* p = nullptr;
    cuda_check(cudaMalloc(&p, bytes), detail::concat("cuda_memory: cudaMalloc of ", bytes, " bytes").c_str());
    return p;
  }
  // Errors are ignored: a destructor must not throw, and at process exit the runtime may be gone already.
  static void deallocate(void* p) {
    if (p) cudaFree(p);
  }
  static void copy_from_host(void* dst, const void* src, std::size_t bytes) {
    if (bytes) cuda_check(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice), "cuda_memory: cudaMemcpy host to device");
  }
  static void copy_to_host(void* dst, const void* src, std::size_t bytes) {
    if (bytes) cuda_check(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost), "cuda_memory: cudaMemcpy device to host");
  }
  static void copy(void* dst, const void* src, std::size_t bytes) {
    if (bytes) cuda_check(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice), "cuda_memory: cudaMemcpy device to device");
  }
  static void zero(void* dst, std::size_t bytes) {
    if (bytes) cuda_check(cudaMemset(dst, 0, bytes), "cuda_memory: cudaMemset");
  }
};

}  // namespace patchzoo
