#pragma once
// Reference GroupNorm over in[N, C, H, W]: the C channels split into G groups of C / G consecutive channels;
// each (sample, group) is normalised over its (C / G) * H * W values (biased variance), then every channel
// gets its own affine weight and bias. Statistics and gradients in double.
#include <cmath>
#include <vector>

#include "patchzoo/backend/contracts/conv.hpp"
#include "patchzoo/backend/contracts/gradients.hpp"
#include "patchzoo/backend/xtensor/xt_includes.hpp"

namespace patchzoo {

struct xtensor_backend;

template <real T>
void group_norm_forward(xtensor_backend&, tensor_view<T> out, tensor_view<T> mean, tensor_view<T> rstd,
                        const_view<T> in, const_view<T> weight, const_view<T> bias, int groups, T eps) {
  const char* op = "group_norm_forward";
  contract::group_norm(op, out, in, weight, bias, mean, rstd, groups);
  auto X = xt_detail::adapt(in);
  auto Y = xt_detail::adapt(out);
  const std::int64_t n_all = in.dim(0), c_all = in.dim(1), hw = in.dim(2) * in.dim(3);
  const std::int64_t cg = c_all / groups;
  const double m = static_cast<double>(cg * hw);
  for (std::int64_t n = 0; n < n_all; ++n)
    for (std::int64_t g = 0; g < groups; ++g) {
      double mu = 0.0;
      for (std::int64_t c = g * cg; c < (g + 1) * cg; ++c)
        for (std::int64_t i = 0; i < hw; ++i) mu += X.flat(static_cast<std::size_t>((n * c_all + c) * hw + i));
      mu /= m;
      double var = 0.0;
      for (std::int64_t c = g * cg; c < (g + 1) * cg; ++c)
        for (std::int64_t i = 0; i < hw; ++i) {
          const double d = X.flat(static_cast<std::size_t>((n * c_all + c) * hw + i)) - mu;
          var += d * d;
        }
      var /= m;
      const double r = 1.0 / std::sqrt(var + static_cast<double>(eps));
      for (std::int64_t c = g * cg; c < (g + 1) * cg; ++c)
        for (std::int64_t i = 0; i < hw; ++i) {
          const auto at = static_cast<std::size_t>((n * c_all + c) * hw + i);
          Y.flat(at) = static_cast<T>((X.flat(at) - mu) * r * weight.data[c] + bias.data[c]);
        }
      mean.data[n * groups + g] = static_cast<T>(mu);
      rstd.data[n * groups + g] = static_cast<T>(r);
    }
}

// With xhat = (x - mean) r and g' = w_c g over one (sample, group) of M values:
// dx = r (g' - mean(g') - xhat mean(g' xhat)); dweight_c = sum g xhat, dbias_c = sum g over N, H, W.
template <real T>
void group_norm_backward(xtensor_backend&, tensor_view<T> din, tensor_view<T> dweight, tensor_view<T> dbias,
                         const_view<T> dout, const_view<T> in, const_view<T> weight, const_view<T> mean,
                         const_view<T> rstd, int groups) {
  const char* op = "group_norm_backward";
  contract::group_norm<const T>(op, dout, in, weight, weight, mean, rstd, groups, "dout");
  const bool want_in = contract::wanted_gradient(op, "din", din, in);
  const bool want_weight = contract::wanted_gradient(op, "dweight", dweight, weight);
  const bool want_bias = contract::wanted_gradient(op, "dbias", dbias, weight);
  if (want_in) expect_contiguous(op, "din", din);
  auto X = xt_detail::adapt(in);
  auto G = xt_detail::adapt(dout);
  const std::int64_t n_all = in.dim(0), c_all = in.dim(1), hw = in.dim(2) * in.dim(3);
  const std::int64_t cg = c_all / groups;
  const double m = static_cast<double>(cg * hw);
  std::vector<double> dweight_acc(static_cast<std::size_t>(c_all), 0.0), dbias_acc(dweight_acc);
  for (std::int64_t n = 0; n < n_all; ++n)
    for (std::int64_t g = 0; g < groups; ++g) {
      const double mu = mean.data[n * groups + g], r = rstd.data[n * groups + g];
      double mean_gw = 0.0, mean_gw_xhat = 0.0;
      for (std::int64_t c = g * cg; c < (g + 1) * cg; ++c)
        for (std::int64_t i = 0; i < hw; ++i) {
          const auto at = static_cast<std::size_t>((n * c_all + c) * hw + i);
          const double xhat = (X.flat(at) - mu) * r, gy = G.flat(at);
          mean_gw += gy * weight.data[c];
          mean_gw_xhat += gy * weight.data[c] * xhat;
          dweight_acc[static_cast<std::size_t>(c)] += gy * xhat;
          dbias_acc[static_cast<std::size_t>(c)] += gy;
        }
      mean_gw /= m;
      mean_gw_xhat /= m;
      if (!want_in) continue;
      for (std::int64_t c = g * cg; c < (g + 1) * cg; ++c)
        for (std::int64_t i = 0; i < hw; ++i) {
          const auto at = static_cast<std::size_t>((n * c_all + c) * hw + i);
          const double xhat = (X.flat(at) - mu) * r;
          din.data[at] += static_cast<T>(r * (G.flat(at) * static_cast<double>(weight.data[c]) - mean_gw -
                                              xhat * mean_gw_xhat));
        }
    }
  for (std::int64_t c = 0; c < c_all; ++c) {
    if (want_weight) dweight.data[c] += static_cast<T>(dweight_acc[static_cast<std::size_t>(c)]);
    if (want_bias) dbias.data[c] += static_cast<T>(dbias_acc[static_cast<std::size_t>(c)]);
  }
}

}  // namespace patchzoo
