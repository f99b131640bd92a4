#pragma once
// AdamW update, element-wise. The arithmetic runs in double, like the hyper-parameters, and rounds once
// per stored value.
#include <cstdint>

#include "patchzoo/backend/cuda/device/grid.cuh"

namespace patchzoo::cuda_device {

// Hyper-parameters with the bias corrections of this step folded in (computed once on the host).
struct adamw_step_params {
  double lr, beta1, beta2, eps, weight_decay;
  double bias_correction1, bias_correction2;  // 1 - beta^step
};

__global__ void adamw_kernel(float* param, const float* grad, float* m, float* v, std::int64_t n,
                             adamw_step_params h) {
  for (std::int64_t i = global_thread(); i < n; i += grid_threads()) {
    const double g = grad[i];
    const double m_new = h.beta1 * m[i] + (1.0 - h.beta1) * g;
    const double v_new = h.beta2 * v[i] + (1.0 - h.beta2) * g * g;
    m[i] = static_cast<float>(m_new);
    v[i] = static_cast<float>(v_new);
    const double m_hat = m_new / h.bias_correction1, v_hat = v_new / h.bias_correction2;
    const double p = param[i];
    param[i] = static_cast<float>(p - h.lr * (h.weight_decay * p + m_hat / (sqrt(v_hat) + h.eps)));
  }
}

}  // namespace patchzoo::cuda_device
