// adamw_step.
#include <cmath>

#include "launch.hpp"
#include "patchzoo/backend/contracts/transformer.hpp"
#include "patchzoo/backend/cuda/device/adamw.cuh"

namespace patchzoo {

using namespace cuda_detail;

void adamw_step(cuda_backend& be, tensor_view<float> param, const_view<float> grad, tensor_view<float> m,
                tensor_view<float> v, const adamw_params& hyper, std::int64_t step) {
  contract::adamw(param, grad, m, v, hyper, step);
  expect_contiguous("adamw_step", "param", param);
  expect_contiguous("adamw_step", "grad", grad);
  expect_contiguous("adamw_step", "first moment", m);
  expect_contiguous("adamw_step", "second moment", v);
  if (param.numel() == 0) return;
  const double t = static_cast<double>(step);
  const cuda_device::adamw_step_params h{hyper.lr,
                                         hyper.beta1,
                                         hyper.beta2,
                                         hyper.eps,
                                         hyper.weight_decay,
                                         1.0 - std::pow(hyper.beta1, t),
                                         1.0 - std::pow(hyper.beta2, t)};
  cuda_device::adamw_kernel<<<grid_for(param.numel()), block_size, 0, be.stream>>>(param.data, grad.data, m.data,
                                                                                  v.data, param.numel(), h);
  check_launch("adamw_step");
}

}  // namespace patchzoo
