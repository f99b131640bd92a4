#pragma once
// AdamW with bias correction, one fused pass over param, grad and both moments.
#include <cmath>

#include "patchzoo/backend/contracts/transformer.hpp"
#include "patchzoo/backend/eigen/eigen_includes.hpp"

namespace patchzoo {

struct eigen_backend;

template <real T>
void adamw_step(eigen_backend&, tensor_view<T> param, const_view<T> grad, tensor_view<T> m, tensor_view<T> v,
                const adamw_params& h, std::int64_t step) {
  contract::adamw(param, grad, m, v, h, step);
  expect_contiguous("adamw_step", "param", param);
  expect_contiguous("adamw_step", "grad", grad);
  expect_contiguous("adamw_step", "first moment", m);
  expect_contiguous("adamw_step", "second moment", v);
  const double steps = static_cast<double>(step);
  const T b1 = static_cast<T>(h.beta1), b2 = static_cast<T>(h.beta2);
  const T inv_bc1 = static_cast<T>(1.0 / (1.0 - std::pow(h.beta1, steps)));
  const T inv_bc2 = static_cast<T>(1.0 / (1.0 - std::pow(h.beta2, steps)));
  const T lr = static_cast<T>(h.lr), wd = static_cast<T>(h.weight_decay), eps = static_cast<T>(h.eps);
  eigen_detail::parallel_for(param.numel(), param.numel() * 4, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i) {
      const T g = grad.data[i];
      const T mi = b1 * m.data[i] + (T(1) - b1) * g;
      const T vi = b2 * v.data[i] + (T(1) - b2) * g * g;
      m.data[i] = mi;
      v.data[i] = vi;
      param.data[i] -= lr * (wd * param.data[i] + (mi * inv_bc1) / (std::sqrt(vi * inv_bc2) + eps));
    }
  });
}

}  // namespace patchzoo
