#pragma once
// 2-D average and max pooling over kernel x kernel windows (NCHW, no padding), one plane per thread.
#include "patchzoo/backend/contracts/conv.hpp"
#include "patchzoo/backend/contracts/index_values.hpp"
#include "patchzoo/backend/eigen/eigen_includes.hpp"

namespace patchzoo {

struct eigen_backend;

template <real T>
void avgpool2d_forward(eigen_backend&, tensor_view<T> out, const_view<T> in, pool2d_params p) {
  const char* op = "avgpool2d_forward";
  contract::pool2d(op, out, in, p);
  expect_contiguous(op, "output", out);
  const std::int64_t h = in.dim(2), w = in.dim(3), oh_n = out.dim(2), ow_n = out.dim(3), k = p.kernel, s = p.stride;
  const T share = T(1) / static_cast<T>(k * k);
  eigen_detail::parallel_for(in.dim(0) * in.dim(1), in.numel(), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t pl = lo; pl < hi; ++pl) {
      const T* x = in.data + pl * h * w;
      T* y = out.data + pl * oh_n * ow_n;
      for (std::int64_t oh = 0; oh < oh_n; ++oh)
        for (std::int64_t ow = 0; ow < ow_n; ++ow) {
          T acc = 0;
          for (std::int64_t i = 0; i < k; ++i)
            for (std::int64_t j = 0; j < k; ++j) acc += x[(oh * s + i) * w + ow * s + j];
          y[oh * ow_n + ow] = acc * share;
        }
    }
  });
}

template <real T>
void avgpool2d_backward(eigen_backend&, tensor_view<T> din, const_view<T> dout, pool2d_params p) {
  const char* op = "avgpool2d_backward";
  if (din.empty()) return;
  contract::pool2d<const T>(op, dout, const_view<T>(din), p);
  expect_contiguous(op, "dout", dout);
  const std::int64_t h = din.dim(2), w = din.dim(3), oh_n = dout.dim(2), ow_n = dout.dim(3), k = p.kernel, s = p.stride;
  const T share = T(1) / static_cast<T>(k * k);
  eigen_detail::parallel_for(din.dim(0) * din.dim(1), din.numel(), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t pl = lo; pl < hi; ++pl) {
      T* dx = din.data + pl * h * w;
      const T* g = dout.data + pl * oh_n * ow_n;
      for (std::int64_t oh = 0; oh < oh_n; ++oh)
        for (std::int64_t ow = 0; ow < ow_n; ++ow) {
          const T v = g[oh * ow_n + ow] * share;
          for (std::int64_t i = 0; i < k; ++i)
            for (std::int64_t j = 0; j < k; ++j) dx[(oh * s + i) * w + ow * s + j] += v;
        }
    }
  });
}

// argmax holds the flat index into `in` of each window's first maximum.
template <real T>
void maxpool2d_forward(eigen_backend&, tensor_view<T> out, tensor_view<std::int32_t> argmax, const_view<T> in,
                       pool2d_params p) {
  const char* op = "maxpool2d_forward";
  contract::pool2d(op, out, in, p);
  expect_contiguous(op, "output", out);
  expect_shape(op, "argmax", argmax, out.shape);
  expect_contiguous(op, "argmax", argmax);
  const std::int64_t h = in.dim(2), w = in.dim(3), oh_n = out.dim(2), ow_n = out.dim(3), k = p.kernel, s = p.stride;
  eigen_detail::parallel_for(in.dim(0) * in.dim(1), in.numel(), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t pl = lo; pl < hi; ++pl) {
      const T* x = in.data + pl * h * w;
      for (std::int64_t oh = 0; oh < oh_n; ++oh)
        for (std::int64_t ow = 0; ow < ow_n; ++ow) {
          std::int64_t best = (oh * s) * w + ow * s;
          for (std::int64_t i = 0; i < k; ++i)
            for (std::int64_t j = 0; j < k; ++j) {
              const std::int64_t at = (oh * s + i) * w + ow * s + j;
              if (x[at] > x[best]) best = at;
            }
          const std::int64_t o = pl * oh_n * ow_n + oh * ow_n + ow;
          out.data[o] = x[best];
          argmax.data[o] = static_cast<std::int32_t>(pl * h * w + best);
        }
    }
  });
}

// din[argmax[i]] += dout[i]; serial, because a saved argmax may route several outputs to one element.
template <real T>
void maxpool2d_backward(eigen_backend&, tensor_view<T> din, const_view<T> dout, const_view<std::int32_t> argmax) {
  const char* op = "maxpool2d_backward";
  expect_shape(op, "argmax", argmax, dout.shape);
  expect_contiguous(op, "dout", dout);
  expect_contiguous(op, "argmax", argmax);
  if (din.empty()) return;
  expect_contiguous(op, "din", din);
  contract::argmax_slots(op, argmax.data, argmax.numel(), din.numel(), false);
  for (std::int64_t i = 0; i < dout.numel(); ++i) din.data[argmax.data[i]] += dout.data[i];
}

}  // namespace patchzoo
