#pragma once
// Reference AdamW step in double: decoupled weight decay and bias correction at the 1-based step.
#include <cmath>

#include "patchzoo/backend/contracts/transformer.hpp"
#include "patchzoo/backend/xtensor/xt_includes.hpp"

namespace patchzoo {

struct xtensor_backend;

template <real T>
void adamw_step(xtensor_backend&, tensor_view<T> param, const_view<T> grad, tensor_view<T> m, tensor_view<T> v,
                const adamw_params& h, std::int64_t step) {
  const char* op = "adamw_step";
  contract::adamw(param, grad, m, v, h, step);
  expect_contiguous(op, "param", param);
  expect_contiguous(op, "grad", grad);
  expect_contiguous(op, "first moment", m);
  expect_contiguous(op, "second moment", v);
  auto P = xt_detail::adapt(param);
  auto G = xt_detail::adapt(grad);
  auto M = xt_detail::adapt(m);
  auto V = xt_detail::adapt(v);
  const double correction1 = 1.0 - std::pow(h.beta1, static_cast<double>(step));
  const double correction2 = 1.0 - std::pow(h.beta2, static_cast<double>(step));
  for (std::size_t i = 0; i < P.size(); ++i) {
    const double g = G.flat(i);
    const double mi = h.beta1 * M.flat(i) + (1.0 - h.beta1) * g;
    const double vi = h.beta2 * V.flat(i) + (1.0 - h.beta2) * g * g;
    const double update = h.weight_decay * P.flat(i) + (mi / correction1) / (std::sqrt(vi / correction2) + h.eps);
    M.flat(i) = static_cast<T>(mi);
    V.flat(i) = static_cast<T>(vi);
    P.flat(i) = static_cast<T>(P.flat(i) - h.lr * update);
  }
}

}  // namespace patchzoo
