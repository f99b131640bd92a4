#pragma once
// RMSNorm and LayerNorm over the last dim of in[N, D]: one fused pass per row, row statistics in
// double, weight gradients as per-thread column partials (see parallel_row_reduce).
#include <cmath>

#include "patchzoo/backend/contracts/gradients.hpp"
#include "patchzoo/backend/contracts/transformer.hpp"
#include "patchzoo/backend/eigen/eigen_includes.hpp"

namespace patchzoo {

struct eigen_backend;

template <real T>
void rmsnorm_forward(eigen_backend&, tensor_view<T> out, tensor_view<T> rstd, const_view<T> in, const_view<T> weight,
                     T eps) {
  contract::norm("rmsnorm_forward", out, in, weight, rstd);
  expect_contiguous("rmsnorm_forward", "output", out);
  const std::int64_t n = in.dim(0), d = in.dim(1);
  const T* w = weight.data;
  eigen_detail::parallel_for(n, in.numel(), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t r = lo; r < hi; ++r) {
      const T* x = in.data + r * d;
      T* y = out.data + r * d;
      double ss = 0.0;
      for (std::int64_t c = 0; c < d; ++c) ss += static_cast<double>(x[c]) * x[c];
      const T s = static_cast<T>(1.0 / std::sqrt(ss / static_cast<double>(d) + static_cast<double>(eps)));
      for (std::int64_t c = 0; c < d; ++c) y[c] = x[c] * s * w[c];
      rstd.data[r] = s;
    }
  });
}

template <real T>
void rmsnorm_backward(eigen_backend&, tensor_view<T> din, tensor_view<T> dweight, const_view<T> dout, const_view<T> in,
                      const_view<T> weight, const_view<T> rstd) {
  const char* op = "rmsnorm_backward";
  contract::norm<const T>(op, dout, in, weight, rstd);
  expect_contiguous(op, "dout", dout);
  const bool want_in = contract::wanted_gradient(op, "din", din, in);
  const bool want_weight = contract::wanted_gradient(op, "dweight", dweight, weight);
  if (want_in) expect_contiguous(op, "din", din);
  const std::int64_t n = in.dim(0), d = in.dim(1);
  const T* w = weight.data;
  if (want_in) {
    eigen_detail::parallel_for(n, in.numel(), [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t r = lo; r < hi; ++r) {
        const T* x = in.data + r * d;
        const T* g = dout.data + r * d;
        T* dx = din.data + r * d;
        const double s = rstd.data[r];
        // din = rstd * (dnorm - norm * mean(dnorm * norm)) with norm = x * rstd, dnorm = dout * w.
        double dot = 0.0;
        for (std::int64_t c = 0; c < d; ++c) dot += static_cast<double>(g[c]) * w[c] * x[c];
        const T k = static_cast<T>(dot * s * s / static_cast<double>(d));
        const T st = static_cast<T>(s);
        for (std::int64_t c = 0; c < d; ++c) dx[c] += st * (g[c] * w[c] - x[c] * k);
      }
    });
  }
  if (want_weight) {
    const auto sums = eigen_detail::parallel_row_reduce(n, in.numel(), d, [&](std::int64_t lo, std::int64_t hi, double* acc) {
      for (std::int64_t r = lo; r < hi; ++r) {
        const T* x = in.data + r * d;
        const T* g = dout.data + r * d;
        const T s = rstd.data[r];
        for (std::int64_t c = 0; c < d; ++c) acc[c] += static_cast<double>(g[c] * x[c] * s);
      }
    });
    for (std::int64_t c = 0; c < d; ++c) dweight.data[c] += static_cast<T>(sums[c]);
  }
}

template <real T>
void layernorm_forward(eigen_backend&, tensor_view<T> out, tensor_view<T> mean, tensor_view<T> rstd, const_view<T> in,
                       const_view<T> weight, const_view<T> bias, T eps) {
  const char* op = "layernorm_forward";
  contract::norm(op, out, in, weight, rstd);
  expect_shape(op, "saved mean", mean, rstd.shape);
  expect_shape(op, "bias", bias, weight.shape);
  expect_contiguous(op, "output", out);
  const std::int64_t n = in.dim(0), d = in.dim(1);
  const T *w = weight.data, *b = bias.data;
  eigen_detail::parallel_for(n, in.numel(), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t r = lo; r < hi; ++r) {
      const T* x = in.data + r * d;
      T* y = out.data + r * d;
      double s1 = 0.0;
      for (std::int64_t c = 0; c < d; ++c) s1 += x[c];
      const double mu = s1 / static_cast<double>(d);
      // Two-pass (centred) variance: no cancellation when |mean| >> std.
      double s2 = 0.0;
      for (std::int64_t c = 0; c < d; ++c) s2 += (x[c] - mu) * (x[c] - mu);
      const double rs = 1.0 / std::sqrt(s2 / static_cast<double>(d) + static_cast<double>(eps));
      const T m = static_cast<T>(mu), s = static_cast<T>(rs);
      for (std::int64_t c = 0; c < d; ++c) y[c] = (x[c] - m) * s * w[c] + b[c];
      mean.data[r] = m;
      rstd.data[r] = s;
    }
  });
}

template <real T>
void layernorm_backward(eigen_backend&, tensor_view<T> din, tensor_view<T> dweight, tensor_view<T> dbias,
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
  const std::int64_t n = in.dim(0), d = in.dim(1);
  const T* w = weight.data;
  if (want_in) {
    eigen_detail::parallel_for(n, in.numel(), [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t r = lo; r < hi; ++r) {
        const T* x = in.data + r * d;
        const T* g = dout.data + r * d;
        T* dx = din.data + r * d;
        const T m = mean.data[r], s = rstd.data[r];
        // din = rstd * (dnorm - mean(dnorm) - norm * mean(dnorm * norm)), norm = (x - mean) rstd.
        double sum_dn = 0.0, sum_dn_norm = 0.0;
        for (std::int64_t c = 0; c < d; ++c) {
          const double dn = static_cast<double>(g[c]) * w[c];
          sum_dn += dn;
          sum_dn_norm += dn * (x[c] - m) * s;
        }
        const T mean_dn = static_cast<T>(sum_dn / static_cast<double>(d));
        const T mean_dn_norm = static_cast<T>(sum_dn_norm / static_cast<double>(d));
        for (std::int64_t c = 0; c < d; ++c) dx[c] += s * (g[c] * w[c] - mean_dn - (x[c] - m) * s * mean_dn_norm);
      }
    });
  }
  if (want_weight || want_bias) {
    const auto sums = eigen_detail::parallel_row_reduce(n, in.numel(), 2 * d, [&](std::int64_t lo, std::int64_t hi, double* acc) {
      for (std::int64_t r = lo; r < hi; ++r) {
        const T* x = in.data + r * d;
        const T* g = dout.data + r * d;
        const T m = mean.data[r], s = rstd.data[r];
        for (std::int64_t c = 0; c < d; ++c) {
          acc[c] += static_cast<double>(g[c] * (x[c] - m) * s);
          acc[d + c] += static_cast<double>(g[c]);
        }
      }
    });
    if (want_weight)
      for (std::int64_t c = 0; c < d; ++c) dweight.data[c] += static_cast<T>(sums[c]);
    if (want_bias)
      for (std::int64_t c = 0; c < d; ++c) dbias.data[c] += static_cast<T>(sums[d + c]);
  }
}

}  // namespace patchzoo
