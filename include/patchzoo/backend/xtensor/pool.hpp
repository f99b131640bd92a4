#pragma once
// Reference 2-D average and max pooling over kernel x kernel windows (NCHW, no padding).
#include "patchzoo/backend/contracts/conv.hpp"
#include "patchzoo/backend/contracts/gradients.hpp"
#include "patchzoo/backend/contracts/index_values.hpp"
#include "patchzoo/backend/xtensor/xt_includes.hpp"

namespace patchzoo {

struct xtensor_backend;

namespace xt_detail {

// Calls f(n, c, oh, ow, ih, iw) for every input pixel of every pooling window.
template <class F>
void for_each_window_pixel(const shape_t& out, const pool2d_params& p, F&& f) {
  for (std::int64_t n = 0; n < out[0]; ++n)
    for (std::int64_t c = 0; c < out[1]; ++c)
      for (std::int64_t oh = 0; oh < out[2]; ++oh)
        for (std::int64_t ow = 0; ow < out[3]; ++ow)
          for (std::int64_t kh = 0; kh < p.kernel; ++kh)
            for (std::int64_t kw = 0; kw < p.kernel; ++kw) f(n, c, oh, ow, oh * p.stride + kh, ow * p.stride + kw);
}

}  // namespace xt_detail

template <real T>
void avgpool2d_forward(xtensor_backend&, tensor_view<T> out, const_view<T> in, pool2d_params p) {
  const char* op = "avgpool2d_forward";
  contract::pool2d(op, out, in, p);
  expect_contiguous(op, "output", out);
  auto X = xt_detail::adapt(in);
  auto Y = xt_detail::adapt(out);
  xt::xarray<double> acc = xt::zeros<double>(Y.shape());
  xt_detail::for_each_window_pixel(out.shape, p, [&](auto n, auto c, auto oh, auto ow, auto ih, auto iw) {
    acc(n, c, oh, ow) += X(n, c, ih, iw);
  });
  Y = xt::cast<T>(acc / static_cast<double>(p.kernel * p.kernel));
}

template <real T>
void avgpool2d_backward(xtensor_backend&, tensor_view<T> din, const_view<T> dout, pool2d_params p) {
  const char* op = "avgpool2d_backward";
  if (din.empty()) return;
  contract::pool2d<const T>(op, dout, const_view<T>(din), p);
  expect_contiguous(op, "dout", dout);
  auto D = xt_detail::adapt(din);
  auto G = xt_detail::adapt(dout);
  const double share = 1.0 / static_cast<double>(p.kernel * p.kernel);
  xt_detail::for_each_window_pixel(dout.shape, p, [&](auto n, auto c, auto oh, auto ow, auto ih, auto iw) {
    D(n, c, ih, iw) += static_cast<T>(G(n, c, oh, ow) * share);
  });
}

// argmax holds the flat index into `in` of each window's first maximum.
template <real T>
void maxpool2d_forward(xtensor_backend&, tensor_view<T> out, tensor_view<std::int32_t> argmax, const_view<T> in,
                       pool2d_params p) {
  const char* op = "maxpool2d_forward";
  contract::pool2d(op, out, in, p);
  expect_contiguous(op, "output", out);
  expect_shape(op, "argmax", argmax, out.shape);
  expect_contiguous(op, "argmax", argmax);
  auto X = xt_detail::adapt(in);
  auto Y = xt_detail::adapt(out);
  auto A = xt_detail::adapt(argmax);
  const std::int64_t h = in.dim(2), w = in.dim(3), channels = in.dim(1);
  A.fill(-1);
  xt_detail::for_each_window_pixel(out.shape, p, [&](auto n, auto c, auto oh, auto ow, auto ih, auto iw) {
    if (A(n, c, oh, ow) < 0 || X(n, c, ih, iw) > Y(n, c, oh, ow)) {
      Y(n, c, oh, ow) = X(n, c, ih, iw);
      A(n, c, oh, ow) = static_cast<std::int32_t>(((n * channels + c) * h + ih) * w + iw);
    }
  });
}

// din[argmax[i]] += dout[i].
template <real T>
void maxpool2d_backward(xtensor_backend&, tensor_view<T> din, const_view<T> dout, const_view<std::int32_t> argmax) {
  const char* op = "maxpool2d_backward";
  expect_shape(op, "argmax", argmax, dout.shape);
  expect_contiguous(op, "dout", dout);
  expect_contiguous(op, "argmax", argmax);
  if (din.empty()) return;
  expect_contiguous(op, "din", din);
  contract::argmax_slots(op, argmax.data, argmax.numel(), din.numel(), false);
  auto D = xt_detail::adapt(din);
  for (std::int64_t i = 0; i < dout.numel(); ++i) D.flat(static_cast<std::size_t>(argmax.data[i])) += dout.data[i];
}

}  // namespace patchzoo
