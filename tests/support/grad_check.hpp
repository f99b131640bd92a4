#pragma once
// Central finite differences in double (ggml's GRAD mode): every element of an input is nudged by
// +-eps, the scalar loss recomputed, and the slope compared with the analytic gradient.
// The usual loss is sum(out * w) for a fixed random w, so that dout = w enters the backward pass.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "patchzoo/core/tensor.hpp"
#include "support/tolerances.hpp"

namespace patchzoo::test {

inline double weighted_sum(const tensor<double>& out, const tensor<double>& w) {
  double s = 0.0;
  for (std::int64_t i = 0; i < out.numel(); ++i) s += out[i] * w[i];
  return s;
}

// loss() must recompute the forward pass from the current contents of x.
template <class LossFn>
void check_gradient(const std::string& what, tensor<double>& x, const tensor<double>& analytic, LossFn&& loss,
                    double eps = grad_check_eps, double tol = grad_check_tol) {
  INFO(what);
  REQUIRE(x.numel() == analytic.numel());
  REQUIRE(x.numel() > 0);
  int failures = 0;
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    const double saved = x[i];
    x[i] = saved + eps;
    const double up = loss();
    x[i] = saved - eps;
    const double down = loss();
    x[i] = saved;
    const double numeric = (up - down) / (2 * eps);
    const double err = std::abs(numeric - analytic[i]);
    if (!(err <= tol * std::max(1.0, std::abs(numeric))) && failures++ < 5) {
      FAIL_CHECK(what << ": d/dx[" << i << "] analytic " << analytic[i] << " numeric " << numeric);
    }
  }
  CHECK_MESSAGE(failures == 0, what, ": ", failures, " of ", x.numel(), " gradient elements differ");
}

}  // namespace patchzoo::test
