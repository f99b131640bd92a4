#pragma once
// Reference RMSNorm and LayerNorm over the last dimension of in[N, D], with per-row saved statistics.
#include <cmath>
#include <vector>

#include "patchzoo/backend/contracts/gradients.hpp"
#include "patchzoo/backend/contracts/transformer.hpp"
#include "patchzoo/backend/xtensor/xt_includes.hpp"

namespace patchzoo {

struct xtensor_backend;

template <real T>
void rmsnorm_forward(xtensor_backend&, tensor_view<T> out, tensor_view<T> rstd, const_view<T> in, const_view<T> weight,
                     T eps) {
  const char* op = "rmsnorm_forward";
  contract::norm(op, out, in, weight, rstd);
  expect_contiguous(op, "output", out);
  auto X = xt_detail::adapt(in);
  auto Y = xt_detail::adapt(out);
  auto w = xt_detail::adapt(weight);
  const std::size_t rows = X.shape(0), d = X.shape(1);
  for (std::size_t n = 0; n < rows; ++n) {
    double mean_sq = 0.0;
    for (std::size_t j = 0; j < d; ++j) mean_sq += static_cast<double>(X(n, j)) * X(n, j);
    mean_sq /= static_cast<double>(d);
    const double r = 1.0 / std::sqrt(mean_sq + static_cast<double>(eps));
    for (std::size_t j = 0; j < d; ++j) Y(n, j) = static_cast<T>(X(n, j) * r * w(j));
    rstd.data[n] = static_cast<T>(r);
  }
}

// y_j = x_j r w_j with r = (mean(x^2) + eps)^(-1/2), so dx_i = r w_i g_i - (r^3 / D) x_i sum_j g_j w_j x_j.
template <real T>
void rmsnorm_backward(xtensor_backend&, tensor_view<T> din, tensor_view<T> dweight, const_view<T> dout,
                      const_view<T> in, const_view<T> weight, const_view<T> rstd) {
  const char* op = "rmsnorm_backward";
  contract::norm<const T>(op, dout, in, weight, rstd);
  expect_contiguous(op, "dout", dout);
  const bool want_in = contract::wanted_gradient(op, "din", din, in);
  const bool want_weight = contract::wanted_gradient(op, "dweight", dweight, weight);
  if (want_in) expect_contiguous(op, "din", din);
  auto X = xt_detail::adapt(in);
  auto G = xt_detail::adapt(dout);
  auto w = xt_detail::adapt(weight);
  const std::size_t rows = X.shape(0), d = X.shape(1);
  std::vector<double> dweight_acc(d, 0.0);
  for (std::size_t n = 0; n < rows; ++n) {
    const double r = rstd.data[n];
    for (std::size_t j = 0; j < d; ++j) dweight_acc[j] += static_cast<double>(G(n, j)) * X(n, j) * r;
    if (!want_in) continue;
    double gwx = 0.0;
    for (std::size_t j = 0; j < d; ++j) gwx += static_cast<double>(G(n, j)) * w(j) * X(n, j);
    const double coeff = r * r * r * gwx / static_cast<double>(d);
    for (std::size_t j = 0; j < d; ++j)
      din.data[n * d + j] += static_cast<T>(r * w(j) * G(n, j) - coeff * X(n, j));
  }
  if (want_weight)
    for (std::size_t j = 0; j < d; ++j) dweight.data[j] += static_cast<T>(dweight_acc[j]);
}

template <real T>
void layernorm_forward(xtensor_backend&, tensor_view<T> out, tensor_view<T> mean, tensor_view<T> rstd, const_view<T> in,
                       const_view<T> weight, const_view<T> bias, T eps) {
  const char* op = "layernorm_forward";
  contract::norm(op, out, in, weight, rstd);
  expect_shape(op, "saved mean", mean, rstd.shape);
  expect_shape(op, "bias", bias, weight.shape);
  expect_contiguous(op, "output", out);
  auto X = xt_detail::adapt(in);
  auto Y = xt_detail::adapt(out);
  auto w = xt_detail::adapt(weight);
  auto b = xt_detail::adapt(bias);
  const std::size_t rows = X.shape(0), d = X.shape(1);
  for (std::size_t n = 0; n < rows; ++n) {
    double mu = 0.0;
    for (std::size_t j = 0; j < d; ++j) mu += X(n, j);
    mu /= static_cast<double>(d);
    double var = 0.0;
    for (std::size_t j = 0; j < d; ++j) var += (X(n, j) - mu) * (X(n, j) - mu);
    var /= static_cast<double>(d);
    const double r = 1.0 / std::sqrt(var + static_cast<double>(eps));
    for (std::size_t j = 0; j < d; ++j) Y(n, j) = static_cast<T>((X(n, j) - mu) * r * w(j) + b(j));
    mean.data[n] = static_cast<T>(mu);
    rstd.data[n] = static_cast<T>(r);
  }
}

// With xhat = (x - mean) r and g' = w g: dx = r (g' - mean(g') - xhat mean(g' xhat)), as in llm.c.
template <real T>
void layernorm_backward(xtensor_backend&, tensor_view<T> din, tensor_view<T> dweight, tensor_view<T> dbias,
                        const_view<T> dout, const_view<T> in, const_view<T> weight, const_view<T> mean,
                        const_view<T> rstd) {
  const char* op = "layernorm_backward";
  contract::norm<const T>(op, dout, in, weight, rstd);
  expect_shape(op, "saved mean", mean, rstd.shape);
  expect_contiguous(op, "dout", dout);
  const bool want_in = contract::wanted_gradient(op, "din", din, in);
  const bool want_weight = contract::wanted_gradient(op, "dweight", dweight, weight);
  const bool want_bias = contract::wanted_gradient(op, "dbias", dbias, weight);
  if (want_in) expect_contiguous(op, "din", din);
  auto X = xt_detail::adapt(in);
  auto G = xt_detail::adapt(dout);
  auto w = xt_detail::adapt(weight);
  const std::size_t rows = X.shape(0), d = X.shape(1);
  std::vector<double> dweight_acc(d, 0.0), dbias_acc(d, 0.0);
  for (std::size_t n = 0; n < rows; ++n) {
    const double mu = mean.data[n], r = rstd.data[n];
    double mean_gw = 0.0, mean_gw_xhat = 0.0;
    for (std::size_t j = 0; j < d; ++j) {
      const double xhat = (X(n, j) - mu) * r;
      const double gw = static_cast<double>(G(n, j)) * w(j);
      mean_gw += gw;
      mean_gw_xhat += gw * xhat;
      dweight_acc[j] += G(n, j) * xhat;
      dbias_acc[j] += G(n, j);
    }
    mean_gw /= static_cast<double>(d);
    mean_gw_xhat /= static_cast<double>(d);
    if (!want_in) continue;
    for (std::size_t j = 0; j < d; ++j) {
      const double xhat = (X(n, j) - mu) * r;
      const double gw = static_cast<double>(G(n, j)) * w(j);
      din.data[n * d + j] += static_cast<T>(r * (gw - mean_gw - xhat * mean_gw_xhat));
    }
  }
  for (std::size_t j = 0; j < d; ++j) {
    if (want_weight) dweight.data[j] += static_cast<T>(dweight_acc[j]);
    if (want_bias) dbias.data[j] += static_cast<T>(dbias_acc[j]);
  }
}

}  // namespace patchzoo
