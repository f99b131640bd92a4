#pragma once
// Reference 2-D convolution (cross-correlation, NCHW) and its adjoint, the transposed convolution.
// Both are written as one loop nest over (input pixel, kernel tap) -> output pixel, so forward and
// backward visit exactly the same index pairs.
#include "patchzoo/backend/contracts/conv.hpp"
#include "patchzoo/backend/contracts/gradients.hpp"
#include "patchzoo/backend/xtensor/xt_includes.hpp"

namespace patchzoo {

struct xtensor_backend;

namespace xt_detail {

// Calls f(n, ci, ih, iw, co, oh, ow, kh, kw) for every conv2d output pixel (co, oh, ow) and kernel tap
// (ci, kh, kw) whose input pixel ih = oh s - p + kh, iw = ow s - p + kw lies inside the in_h x in_w input.
template <class F>
void for_each_conv_tap(std::int64_t batch, std::int64_t cin, std::int64_t cout, std::int64_t kh_size,
                       std::int64_t kw_size, std::int64_t in_h, std::int64_t in_w, std::int64_t out_h,
                       std::int64_t out_w, const conv2d_params& p, F&& f) {
  for (std::int64_t n = 0; n < batch; ++n)
    for (std::int64_t co = 0; co < cout; ++co)
      for (std::int64_t oh = 0; oh < out_h; ++oh)
        for (std::int64_t ow = 0; ow < out_w; ++ow)
          for (std::int64_t ci = 0; ci < cin; ++ci)
            for (std::int64_t kh = 0; kh < kh_size; ++kh)
              for (std::int64_t kw = 0; kw < kw_size; ++kw) {
                const std::int64_t ih = oh * p.stride - p.padding + kh, iw = ow * p.stride - p.padding + kw;
                if (ih >= 0 && ih < in_h && iw >= 0 && iw < in_w) f(n, ci, ih, iw, co, oh, ow, kh, kw);
              }
}

// Adds bias[c] to every pixel of channel c of x[N, C, H, W].
template <class T>
void add_channel_bias(const tensor_view<T>& x, const const_view<T>& bias) {
  if (bias.empty()) return;
  auto X = adapt(x);
  auto b = adapt(bias);
  for (std::size_t n = 0; n < X.shape(0); ++n)
    for (std::size_t c = 0; c < X.shape(1); ++c) xt::view(X, n, c) += b(c);
}

// dbias[c] += sum of dout over every pixel of channel c.
template <class T>
void channel_bias_backward(const tensor_view<T>& dbias, const const_view<T>& dout) {
  auto G = adapt(dout);
  for (std::size_t c = 0; c < G.shape(1); ++c) {
    double acc = 0.0;
    for (std::size_t n = 0; n < G.shape(0); ++n)
      for (std::size_t h = 0; h < G.shape(2); ++h)
        for (std::size_t w = 0; w < G.shape(3); ++w) acc += G(n, c, h, w);
    dbias.data[c] += static_cast<T>(acc);
  }
}

}  // namespace xt_detail

// out[n, co, oh, ow] = bias[co] + sum in[n, ci, oh s - p + kh, ow s - p + kw] weight[co, ci, kh, kw].
template <real T>
void conv2d_forward(xtensor_backend&, tensor_view<T> out, const_view<T> in, const_view<T> weight, const_view<T> bias,
                    conv2d_params p) {
  const char* op = "conv2d_forward";
  contract::conv2d(op, out, in, weight, bias, p, false);
  expect_contiguous(op, "output", out);
  auto X = xt_detail::adapt(in);
  auto W = xt_detail::adapt(weight);
  auto Y = xt_detail::adapt(out);
  xt::xarray<double> acc = xt::zeros<double>(Y.shape());
  xt_detail::for_each_conv_tap(in.dim(0), in.dim(1), out.dim(1), weight.dim(2), weight.dim(3), in.dim(2), in.dim(3),
                               out.dim(2), out.dim(3), p,
                               [&](auto n, auto ci, auto ih, auto iw, auto co, auto oh, auto ow, auto kh, auto kw) {
                                 acc(n, co, oh, ow) += static_cast<double>(X(n, ci, ih, iw)) * W(co, ci, kh, kw);
                               });
  Y = xt::cast<T>(acc);
  xt_detail::add_channel_bias(out, bias);
}

template <real T>
void conv2d_backward(xtensor_backend&, tensor_view<T> din, tensor_view<T> dweight, tensor_view<T> dbias,
                     const_view<T> dout, const_view<T> in, const_view<T> weight, conv2d_params p) {
  const char* op = "conv2d_backward";
  contract::conv2d<const T>(op, dout, in, weight, const_view<T>(dbias), p, false);
  expect_contiguous(op, "dout", dout);
  const bool want_in = contract::wanted_gradient(op, "din", din, in);
  const bool want_weight = contract::wanted_gradient(op, "dweight", dweight, weight);
  if (want_in) expect_contiguous(op, "din", din);
  if (want_weight) expect_contiguous(op, "dweight", dweight);
  auto X = xt_detail::adapt(in);
  auto W = xt_detail::adapt(weight);
  auto G = xt_detail::adapt(dout);
  xt::xarray<double> din_acc = xt::zeros<double>(X.shape());
  xt::xarray<double> dweight_acc = xt::zeros<double>(W.shape());
  xt_detail::for_each_conv_tap(in.dim(0), in.dim(1), dout.dim(1), weight.dim(2), weight.dim(3), in.dim(2), in.dim(3),
                               dout.dim(2), dout.dim(3), p,
                               [&](auto n, auto ci, auto ih, auto iw, auto co, auto oh, auto ow, auto kh, auto kw) {
                                 const double g = G(n, co, oh, ow);
                                 din_acc(n, ci, ih, iw) += g * W(co, ci, kh, kw);
                                 dweight_acc(co, ci, kh, kw) += g * X(n, ci, ih, iw);
                               });
  if (want_in) {
    auto D = xt_detail::adapt(din);
    D += xt::cast<T>(din_acc);
  }
  if (want_weight) {
    auto DW = xt_detail::adapt(dweight);
    DW += xt::cast<T>(dweight_acc);
  }
  if (!dbias.empty()) xt_detail::channel_bias_backward(dbias, dout);
}

// The adjoint of conv2d: out[n, co, ih s - p + kh, iw s - p + kw] += in[n, ci, ih, iw] weight[ci, co, kh, kw],
// i.e. conv2d's tap loop with the roles of its input (here: out) and output (here: in) exchanged.
template <real T>
void conv_transpose2d_forward(xtensor_backend&, tensor_view<T> out, const_view<T> in, const_view<T> weight,
                              const_view<T> bias, conv2d_params p) {
  const char* op = "conv_transpose2d_forward";
  contract::conv2d(op, out, in, weight, bias, p, true);
  expect_contiguous(op, "output", out);
  auto X = xt_detail::adapt(in);
  auto W = xt_detail::adapt(weight);
  auto Y = xt_detail::adapt(out);
  xt::xarray<double> acc = xt::zeros<double>(Y.shape());
  xt_detail::for_each_conv_tap(in.dim(0), out.dim(1), in.dim(1), weight.dim(2), weight.dim(3), out.dim(2), out.dim(3),
                               in.dim(2), in.dim(3), p,
                               [&](auto n, auto co, auto oh, auto ow, auto ci, auto ih, auto iw, auto kh, auto kw) {
                                 acc(n, co, oh, ow) += static_cast<double>(X(n, ci, ih, iw)) * W(ci, co, kh, kw);
                               });
  Y = xt::cast<T>(acc);
  xt_detail::add_channel_bias(out, bias);
}

template <real T>
void conv_transpose2d_backward(xtensor_backend&, tensor_view<T> din, tensor_view<T> dweight, tensor_view<T> dbias,
                               const_view<T> dout, const_view<T> in, const_view<T> weight, conv2d_params p) {
  const char* op = "conv_transpose2d_backward";
  contract::conv2d<const T>(op, dout, in, weight, const_view<T>(dbias), p, true);
  expect_contiguous(op, "dout", dout);
  const bool want_in = contract::wanted_gradient(op, "din", din, in);
  const bool want_weight = contract::wanted_gradient(op, "dweight", dweight, weight);
  if (want_in) expect_contiguous(op, "din", din);
  if (want_weight) expect_contiguous(op, "dweight", dweight);
  auto X = xt_detail::adapt(in);
  auto W = xt_detail::adapt(weight);
  auto G = xt_detail::adapt(dout);
  xt::xarray<double> din_acc = xt::zeros<double>(X.shape());
  xt::xarray<double> dweight_acc = xt::zeros<double>(W.shape());
  xt_detail::for_each_conv_tap(in.dim(0), dout.dim(1), in.dim(1), weight.dim(2), weight.dim(3), dout.dim(2),
                               dout.dim(3), in.dim(2), in.dim(3), p,
                               [&](auto n, auto co, auto oh, auto ow, auto ci, auto ih, auto iw, auto kh, auto kw) {
                                 const double g = G(n, co, oh, ow);
                                 din_acc(n, ci, ih, iw) += g * W(ci, co, kh, kw);
                                 dweight_acc(ci, co, kh, kw) += g * X(n, ci, ih, iw);
                               });
  if (want_in) {
    auto D = xt_detail::adapt(din);
    D += xt::cast<T>(din_acc);
  }
  if (want_weight) {
    auto DW = xt_detail::adapt(dweight);
    DW += xt::cast<T>(dweight_acc);
  }
  if (!dbias.empty()) xt_detail::channel_bias_backward(dbias, dout);
}

}  // namespace patchzoo
