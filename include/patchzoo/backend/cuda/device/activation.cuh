#pragma once
// SiLU, GELU (tanh approximation) and SwiGLU, element-wise; backward kernels accumulate into the gradient.
#include <cstdint>

#include "patchzoo/backend/cuda/device/grid.cuh"

namespace patchzoo::cuda_device {

__device__ inline float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

// d/dx of x * sigmoid(x)
__device__ inline float silu_grad(float x) {
  const float s = sigmoid(x);
  return s * (1.0f + x * (1.0f - s));
}

inline constexpr float gelu_k = 0.7978845608028654f;  // sqrt(2 / pi)
inline constexpr float gelu_c = 0.044715f;

__device__ inline float gelu(float x) { return 0.5f * x * (1.0f + tanhf(gelu_k * (x + gelu_c * x * x * x))); }

__device__ inline float gelu_grad(float x) {
  const float t = tanhf(gelu_k * (x + gelu_c * x * x * x));
  return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * gelu_k * (1.0f + 3.0f * gelu_c * x * x);
}

__global__ void silu_forward_kernel(float* out, const float* in, std::int64_t n) {
  for (std::int64_t i = global_thread(); i < n; i += grid_threads()) out[i] = in[i] * sigmoid(in[i]);
}

__global__ void silu_backward_kernel(float* din, const float* dout, const float* in, std::int64_t n) {
  for (std::int64_t i = global_thread(); i < n; i += grid_threads()) din[i] += dout[i] * silu_grad(in[i]);
}

__global__ void gelu_forward_kernel(float* out, const float* in, std::int64_t n) {
  for (std::int64_t i = global_thread(); i < n; i += grid_threads()) out[i] = gelu(in[i]);
}

__global__ void gelu_backward_kernel(float* din, const float* dout, const float* in, std::int64_t n) {
  for (std::int64_t i = global_thread(); i < n; i += grid_threads()) din[i] += dout[i] * gelu_grad(in[i]);
}

__global__ void swiglu_forward_kernel(float* out, const float* gate, const float* up, std::int64_t n) {
  for (std::int64_t i = global_thread(); i < n; i += grid_threads()) out[i] = gate[i] * sigmoid(gate[i]) * up[i];
}

// Either gradient pointer may be null (not needed).
__global__ void swiglu_backward_kernel(float* dgate, float* dup, const float* dout, const float* gate,
                                       const float* up, std::int64_t n) {
  for (std::int64_t i = global_thread(); i < n; i += grid_threads()) {
    const float g = gate[i];
    if (dgate) dgate[i] += dout[i] * up[i] * silu_grad(g);
    if (dup) dup[i] += dout[i] * g * sigmoid(g);
  }
}

}  // namespace patchzoo::cuda_device
