#pragma once
// GroupNorm over in[N, C, H, W] (G groups of C / G consecutive channels, biased variance, per-channel
// affine): one (sample, group) per thread for the forward pass and the input gradient, statistics in
// double; the weight and bias gradients one channel per thread (no partials to merge).
#include <cmath>

#include "patchzoo/backend/contracts/conv.hpp"
#include "patchzoo/backend/contracts/gradients.hpp"
#include "patchzoo/backend/eigen/eigen_includes.hpp"

namespace patchzoo {

struct eigen_backend;

template <real T>
void group_norm_forward(eigen_backend&, tensor_view<T> out, tensor_view<T> mean, tensor_view<T> rstd,
                        const_view<T> in, const_view<T> weight, const_view<T> bias, int groups, T eps) {
  contract::group_norm("group_norm_forward", out, in, weight, bias, mean, rstd, groups);
  const std::int64_t hw = in.dim(2) * in.dim(3), cg = in.dim(1) / groups, m = cg * hw;
  eigen_detail::parallel_for(in.dim(0) * groups, in.numel(), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t ng = lo; ng < hi; ++ng) {
      const T* x = in.data + ng * m;  // a group's channels are consecutive: one block of m values
      T* y = out.data + ng * m;
      double s = 0.0;
      for (std::int64_t i = 0; i < m; ++i) s += x[i];
      const double mu = s / static_cast<double>(m);
      double ss = 0.0;
      for (std::int64_t i = 0; i < m; ++i) ss += (x[i] - mu) * (x[i] - mu);
      const double r = 1.0 / std::sqrt(ss / static_cast<double>(m) + static_cast<double>(eps));
      const std::int64_t c0 = (ng % groups) * cg;
      const T muf = static_cast<T>(mu);
      for (std::int64_t c = 0; c < cg; ++c) {
        // y = (x - mu) a + b with a = r w: x - mu in the element type is exact when x is near mu.
        const T a = static_cast<T>(r * weight.data[c0 + c]), b = bias.data[c0 + c];
        const T* xc = x + c * hw;
        T* yc = y + c * hw;
        for (std::int64_t i = 0; i < hw; ++i) yc[i] = (xc[i] - muf) * a + b;
      }
      mean.data[ng] = static_cast<T>(mu);
      rstd.data[ng] = static_cast<T>(r);
    }
  });
}

// dx = r (g' - mean(g') - xhat mean(g' xhat)) with g' = w_c dout over the group; dweight_c = sum dout xhat,
// dbias_c = sum dout.
template <real T>
void group_norm_backward(eigen_backend&, tensor_view<T> din, tensor_view<T> dweight, tensor_view<T> dbias,
                         const_view<T> dout, const_view<T> in, const_view<T> weight, const_view<T> mean,
                         const_view<T> rstd, int groups) {
  const char* op = "group_norm_backward";
  contract::group_norm<const T>(op, dout, in, weight, weight, mean, rstd, groups, "dout");
  const bool want_in = contract::wanted_gradient(op, "din", din, in);
  const bool want_weight = contract::wanted_gradient(op, "dweight", dweight, weight);
  const bool want_bias = contract::wanted_gradient(op, "dbias", dbias, weight);
  if (want_in) expect_contiguous(op, "din", din);
  const std::int64_t n_all = in.dim(0), c_all = in.dim(1), hw = in.dim(2) * in.dim(3), cg = c_all / groups;
  const std::int64_t m = cg * hw;
  if (want_in) {
    eigen_detail::parallel_for(n_all * groups, in.numel(), [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t ng = lo; ng < hi; ++ng) {
        const T* x = in.data + ng * m;
        const T* g = dout.data + ng * m;
        T* dx = din.data + ng * m;
        const double mu = mean.data[ng], r = rstd.data[ng];
        const std::int64_t c0 = (ng % groups) * cg;
        double sum_gw = 0.0, sum_gw_xhat = 0.0;
        for (std::int64_t c = 0; c < cg; ++c) {
          double sg = 0.0, sgx = 0.0;
          for (std::int64_t i = 0; i < hw; ++i) {
            sg += g[c * hw + i];
            sgx += static_cast<double>(g[c * hw + i]) * x[c * hw + i];
          }
          const double w = weight.data[c0 + c];
          sum_gw += w * sg;
          sum_gw_xhat += w * (sgx - mu * sg) * r;
        }
        const double mean_gw = sum_gw / static_cast<double>(m), mean_gw_xhat = sum_gw_xhat / static_cast<double>(m);
        // dx = r w g - r mean_gw - r^2 mean_gw_xhat (x - mu) = (r w) g + k (x - mu) + k0.
        const T k = static_cast<T>(-r * r * mean_gw_xhat), k0 = static_cast<T>(-r * mean_gw);
        const T muf = static_cast<T>(mu);
        for (std::int64_t c = 0; c < cg; ++c) {
          const T a = static_cast<T>(r * weight.data[c0 + c]);
          for (std::int64_t i = 0; i < hw; ++i) dx[c * hw + i] += a * g[c * hw + i] + k * (x[c * hw + i] - muf) + k0;
        }
      }
    });
  }
  if (want_weight || want_bias) {
    eigen_detail::parallel_for(c_all, in.numel(), [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t c = lo; c < hi; ++c) {
        double dw = 0.0, db = 0.0;
        for (std::int64_t n = 0; n < n_all; ++n) {
          const std::int64_t ng = n * groups + c / cg;
          const double mu = mean.data[ng], r = rstd.data[ng];
          const T* x = in.data + (n * c_all + c) * hw;
          const T* g = dout.data + (n * c_all + c) * hw;
          double sg = 0.0, sgx = 0.0;
          for (std::int64_t i = 0; i < hw; ++i) {
            sg += g[i];
            sgx += static_cast<double>(g[i]) * x[i];
          }
          dw += (sgx - mu * sg) * r;
          db += sg;
        }
        if (want_weight) dweight.data[c] += static_cast<T>(dw);
        if (want_bias) dbias.data[c] += static_cast<T>(db);
      }
    });
  }
}

}  // namespace patchzoo
