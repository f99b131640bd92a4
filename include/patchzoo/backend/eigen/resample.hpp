#pragma once
// Nearest-neighbour 2x upsampling and per-side zero padding (pad2d) of NCHW tensors, with their adjoints
// (sum over each 2x2 block; crop), one plane per thread.
#include <algorithm>

#include "patchzoo/backend/contracts/conv.hpp"
#include "patchzoo/backend/eigen/eigen_includes.hpp"

namespace patchzoo {

struct eigen_backend;

template <real T>
void upsample_nearest2x_forward(eigen_backend&, tensor_view<T> out, const_view<T> in) {
  contract::upsample_nearest2x("upsample_nearest2x_forward", out, in);
  const std::int64_t h = in.dim(2), w = in.dim(3);
  eigen_detail::parallel_for(in.dim(0) * in.dim(1), out.numel(), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t pl = lo; pl < hi; ++pl) {
      const T* x = in.data + pl * h * w;
      T* y = out.data + pl * 4 * h * w;
      for (std::int64_t i = 0; i < h; ++i) {
        T* row = y + 2 * i * 2 * w;
        for (std::int64_t j = 0; j < w; ++j) row[2 * j] = row[2 * j + 1] = x[i * w + j];
        std::copy(row, row + 2 * w, row + 2 * w);  // the second output row repeats the first
      }
    }
  });
}

template <real T>
void upsample_nearest2x_backward(eigen_backend&, tensor_view<T> din, const_view<T> dout) {
  const char* op = "upsample_nearest2x_backward";
  if (din.empty()) return;
  contract::upsample_nearest2x(op, dout, din, "dout", "din");
  const std::int64_t h = din.dim(2), w = din.dim(3);
  eigen_detail::parallel_for(din.dim(0) * din.dim(1), dout.numel(), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t pl = lo; pl < hi; ++pl) {
      T* dx = din.data + pl * h * w;
      const T* g = dout.data + pl * 4 * h * w;
      for (std::int64_t i = 0; i < h; ++i) {
        const T* r0 = g + 2 * i * 2 * w;
        const T* r1 = r0 + 2 * w;
        for (std::int64_t j = 0; j < w; ++j) dx[i * w + j] += (r0[2 * j] + r0[2 * j + 1]) + (r1[2 * j] + r1[2 * j + 1]);
      }
    }
  });
}

template <real T>
void pad2d_forward(eigen_backend&, tensor_view<T> out, const_view<T> in, pad2d_params p) {
  contract::pad2d("pad2d_forward", out, in, p);
  const std::int64_t h = in.dim(2), w = in.dim(3), ho = out.dim(2), wo = out.dim(3);
  eigen_detail::parallel_for(in.dim(0) * in.dim(1), out.numel(), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t pl = lo; pl < hi; ++pl) {
      const T* x = in.data + pl * h * w;
      T* y = out.data + pl * ho * wo;
      std::fill(y, y + p.top * wo, T(0));
      for (std::int64_t i = 0; i < h; ++i) {
        T* row = y + (i + p.top) * wo;
        std::fill(row, row + p.left, T(0));
        std::copy(x + i * w, x + (i + 1) * w, row + p.left);
        std::fill(row + p.left + w, row + wo, T(0));
      }
      std::fill(y + (p.top + h) * wo, y + ho * wo, T(0));
    }
  });
}

template <real T>
void pad2d_backward(eigen_backend&, tensor_view<T> din, const_view<T> dout, pad2d_params p) {
  const char* op = "pad2d_backward";
  if (din.empty()) return;
  contract::pad2d(op, dout, din, p, "dout", "din");
  const std::int64_t h = din.dim(2), w = din.dim(3), ho = dout.dim(2), wo = dout.dim(3);
  eigen_detail::parallel_for(din.dim(0) * din.dim(1), din.numel(), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t pl = lo; pl < hi; ++pl) {
      T* dx = din.data + pl * h * w;
      const T* g = dout.data + pl * ho * wo + p.top * wo + p.left;
      for (std::int64_t i = 0; i < h; ++i)
        for (std::int64_t j = 0; j < w; ++j) dx[i * w + j] += g[i * wo + j];
    }
  });
}

}  // namespace patchzoo
