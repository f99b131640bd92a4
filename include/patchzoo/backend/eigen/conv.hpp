#pragma once
// 2-D convolution (cross-correlation, NCHW) and its adjoint, by im2col + GEMM one image at a time, so
// the column buffer stays Ci*Kh*Kw x Ho*Wo; the forward pass goes further and cuts each image into bands of
// output rows whose column block stays cache-sized. conv_transpose2d is conv2d's data gradient run forwards.
#include <algorithm>
#include <vector>

#include "patchzoo/backend/contracts/conv.hpp"
#include "patchzoo/backend/contracts/gradients.hpp"
#include "patchzoo/backend/eigen/eigen_includes.hpp"

namespace patchzoo {

struct eigen_backend;

namespace eigen_detail {

// Geometry of one conv2d: an image of `channels` x img_h x img_w is swept by a kh x kw kernel into an
// out_h x out_w map. Column row (c, i, j) holds, for each output pixel, the image pixel under tap (i, j).
struct conv_geometry {
  std::int64_t channels, img_h, img_w, kh, kw, out_h, out_w;
  conv2d_params p;
  std::int64_t col_rows() const { return channels * kh * kw; }
  std::int64_t col_cols() const { return out_h * out_w; }
  // A 1x1 kernel with stride 1 and no padding: the column matrix IS the image.
  bool identity() const { return kh == 1 && kw == 1 && p.stride == 1 && p.padding == 0; }
};

// The columns of output rows [oh_begin, oh_end): a col_rows() x (rows * out_w) block.
template <class T>
void im2col(const conv_geometry& g, const T* img, T* col, std::int64_t oh_begin, std::int64_t oh_end) {
  const std::int64_t cols = (oh_end - oh_begin) * g.out_w;
  parallel_for(g.col_rows(), g.col_rows() * cols, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t row = lo; row < hi; ++row) {
      const std::int64_t c = row / (g.kh * g.kw), i = row / g.kw % g.kh, j = row % g.kw;
      const T* plane = img + c * g.img_h * g.img_w;
      T* dst = col + row * cols;
      for (std::int64_t oh = oh_begin; oh < oh_end; ++oh) {
        const std::int64_t ih = oh * g.p.stride - g.p.padding + i;
        T* line = dst + (oh - oh_begin) * g.out_w;
        if (ih < 0 || ih >= g.img_h) {
          std::fill(line, line + g.out_w, T(0));
          continue;
        }
        const T* src = plane + ih * g.img_w;
        if (g.p.stride == 1) {  // a shifted copy of the image row, zeros where the kernel hangs over its edge
          const std::int64_t first = std::clamp<std::int64_t>(g.p.padding - j, 0, g.out_w);
          const std::int64_t last = std::clamp<std::int64_t>(g.img_w + g.p.padding - j, first, g.out_w);
          std::fill(line, line + first, T(0));
          std::copy(src + first - g.p.padding + j, src + last - g.p.padding + j, line + first);
          std::fill(line + last, line + g.out_w, T(0));
          continue;
        }
        for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
          const std::int64_t iw = ow * g.p.stride - g.p.padding + j;
          line[ow] = (iw >= 0 && iw < g.img_w) ? src[iw] : T(0);
        }
      }
    }
  });
}

// img += the adjoint of im2col(col); channels are independent, so threads split them.
template <class T>
void col2im_add(const conv_geometry& g, const T* col, T* img) {
  const std::int64_t taps = g.kh * g.kw;
  parallel_for(g.channels, g.col_rows() * g.col_cols(), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t c = lo; c < hi; ++c) {
      T* plane = img + c * g.img_h * g.img_w;
      for (std::int64_t t = 0; t < taps; ++t) {
        const std::int64_t i = t / g.kw, j = t % g.kw;
        const T* src = col + (c * taps + t) * g.col_cols();
        for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
          const std::int64_t ih = oh * g.p.stride - g.p.padding + i;
          if (ih < 0 || ih >= g.img_h) continue;
          T* line = plane + ih * g.img_w;
          const T* s = src + oh * g.out_w;
          for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
            const std::int64_t iw = ow * g.p.stride - g.p.padding + j;
            if (iw >= 0 && iw < g.img_w) line[iw] += s[ow];
          }
        }
      }
    }
  });
}

// Output rows per band of conv2d_forward: a band's column block is about 4 MB (cache-resident while the GEMM
// packs it) instead of the whole image's (300 MB at VQ-16's 256 px, 128 channels, 3x3: paged in on every call).
inline std::int64_t band_rows(const conv_geometry& g, std::size_t element_bytes) {
  constexpr std::int64_t band_bytes = std::int64_t{4} << 20;
  const std::int64_t row_bytes = g.col_rows() * g.out_w * static_cast<std::int64_t>(element_bytes);
  return std::clamp<std::int64_t>(band_bytes / std::max<std::int64_t>(row_bytes, 1), 1, g.out_h);
}

// x[N, C, H, W] += bias[c] on every pixel of channel c.
template <class T>
void add_channel_bias(const tensor_view<T>& x, const const_view<T>& bias) {
  if (bias.empty()) return;
  const std::int64_t planes = x.dim(0) * x.dim(1), c = x.dim(1), pixels = x.dim(2) * x.dim(3);
  parallel_for(planes, x.numel(), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t pl = lo; pl < hi; ++pl) {
      T* p = x.data + pl * pixels;
      const T b = bias.data[pl % c];
      for (std::int64_t i = 0; i < pixels; ++i) p[i] += b;
    }
  });
}

// dbias[c] += sum of dout over every pixel of channel c (in double).
template <class T>
void channel_bias_backward(const tensor_view<T>& dbias, const const_view<T>& dout) {
  const std::int64_t n = dout.dim(0), c = dout.dim(1), pixels = dout.dim(2) * dout.dim(3);
  const auto sums = parallel_row_reduce(n * c, dout.numel(), c, [&](std::int64_t lo, std::int64_t hi, double* acc) {
    for (std::int64_t pl = lo; pl < hi; ++pl) {
      const T* p = dout.data + pl * pixels;
      double s = 0.0;
      for (std::int64_t i = 0; i < pixels; ++i) s += p[i];
      acc[pl % c] += s;
    }
  });
  for (std::int64_t i = 0; i < c; ++i) dbias.data[i] += static_cast<T>(sums[i]);
}

// The column matrix of an image: the image itself for 1x1 kernels, else im2col into `buffer`.
template <class T>
const_matrix_map<T> columns(const conv_geometry& g, const T* img, std::vector<T>& buffer) {
  if (g.identity()) return const_matrix_map<T>(img, g.col_rows(), g.col_cols());
  buffer.resize(static_cast<std::size_t>(g.col_rows() * g.col_cols()));
  im2col(g, img, buffer.data(), 0, g.out_h);
  return const_matrix_map<T>(buffer.data(), g.col_rows(), g.col_cols());
}

// img += col2im(cols) where cols = a * b is formed by GEMM (written straight into img for 1x1 kernels).
template <class T, class A, class B>
void add_col2im_product(const conv_geometry& g, const A& a, const B& b, T* img, std::vector<T>& buffer) {
  if (g.identity()) {
    matrix_map<T>(img, g.col_rows(), g.col_cols()).noalias() += a * b;
    return;
  }
  buffer.resize(static_cast<std::size_t>(g.col_rows() * g.col_cols()));
  matrix_map<T> cols(buffer.data(), g.col_rows(), g.col_cols());
  cols.noalias() = a * b;
  col2im_add(g, buffer.data(), img);
}

}  // namespace eigen_detail

// out[n] = W[Co, Ci*Kh*Kw] * im2col(in[n]) + bias.
template <real T>
void conv2d_forward(eigen_backend&, tensor_view<T> out, const_view<T> in, const_view<T> weight, const_view<T> bias,
                    conv2d_params p) {
  const char* op = "conv2d_forward";
  contract::conv2d(op, out, in, weight, bias, p, false);
  expect_contiguous(op, "output", out);
  const eigen_detail::conv_geometry g{in.dim(1), in.dim(2), in.dim(3), weight.dim(2), weight.dim(3), out.dim(2), out.dim(3), p};
  const std::int64_t co = out.dim(1);
  const auto W = eigen_detail::as_matrix(weight, co, g.col_rows());
  const std::int64_t image = in.dim(1) * g.img_h * g.img_w, band = eigen_detail::band_rows(g, sizeof(T));
  thread_local std::vector<T> buffer;  // kept between calls: no page faults for every convolution
  for (std::int64_t n = 0; n < in.dim(0); ++n) {
    T* dst = out.data + n * co * g.col_cols();
    if (g.identity()) {
      eigen_detail::matrix_map<T>(dst, co, g.col_cols()).noalias() =
          W * eigen_detail::const_matrix_map<T>(in.data + n * image, g.col_rows(), g.col_cols());
      continue;
    }
    for (std::int64_t oh = 0; oh < g.out_h; oh += band) {
      const std::int64_t end = std::min(g.out_h, oh + band), cols = (end - oh) * g.out_w;
      buffer.resize(static_cast<std::size_t>(g.col_rows() * cols));
      eigen_detail::im2col(g, in.data + n * image, buffer.data(), oh, end);
      eigen_detail::strided_map<T>(dst + oh * g.out_w, co, cols, Eigen::OuterStride<>(g.col_cols())).noalias() =
          W * eigen_detail::const_matrix_map<T>(buffer.data(), g.col_rows(), cols);
    }
  }
  eigen_detail::add_channel_bias(out, bias);
}

// dW += dout[n] * im2col(in[n])^T, din[n] += col2im(W^T dout[n]).
template <real T>
void conv2d_backward(eigen_backend&, tensor_view<T> din, tensor_view<T> dweight, tensor_view<T> dbias,
                     const_view<T> dout, const_view<T> in, const_view<T> weight, conv2d_params p) {
  const char* op = "conv2d_backward";
  contract::conv2d<const T>(op, dout, in, weight, const_view<T>(dbias), p, false);
  expect_contiguous(op, "dout", dout);
  const bool want_in = contract::wanted_gradient(op, "din", din, in);
  const bool want_weight = contract::wanted_gradient(op, "dweight", dweight, weight);
  if (want_in) expect_contiguous(op, "din", din);
  if (want_weight) expect_contiguous(op, "dweight", dweight);
  const eigen_detail::conv_geometry g{in.dim(1), in.dim(2), in.dim(3), weight.dim(2), weight.dim(3), dout.dim(2), dout.dim(3), p};
  const std::int64_t co = dout.dim(1), image = in.dim(1) * g.img_h * g.img_w;
  const auto W = eigen_detail::as_matrix(weight, co, g.col_rows());
  std::vector<T> buffer;
  for (std::int64_t n = 0; n < in.dim(0); ++n) {
    const eigen_detail::const_matrix_map<T> G(dout.data + n * co * g.col_cols(), co, g.col_cols());
    if (want_weight) {
      const auto cols = eigen_detail::columns(g, in.data + n * image, buffer);
      eigen_detail::as_matrix(dweight, co, g.col_rows()).noalias() += G * cols.transpose();
    }
    if (want_in) eigen_detail::add_col2im_product(g, W.transpose(), G, din.data + n * image, buffer);
  }
  if (!dbias.empty()) eigen_detail::channel_bias_backward(dbias, dout);
}

// With weight seen as W[Ci, Co*Kh*Kw]: out[n] = col2im(W^T in[n]) + bias, the conv2d geometry running from
// out (the image) to in (the map).
template <real T>
void conv_transpose2d_forward(eigen_backend&, tensor_view<T> out, const_view<T> in, const_view<T> weight,
                              const_view<T> bias, conv2d_params p) {
  const char* op = "conv_transpose2d_forward";
  contract::conv2d(op, out, in, weight, bias, p, true);
  expect_contiguous(op, "output", out);
  const eigen_detail::conv_geometry g{out.dim(1), out.dim(2), out.dim(3), weight.dim(2), weight.dim(3), in.dim(2), in.dim(3), p};
  const std::int64_t ci = in.dim(1), image = out.dim(1) * g.img_h * g.img_w;
  const auto W = eigen_detail::as_matrix(weight, ci, g.col_rows());
  std::fill(out.data, out.data + out.numel(), T(0));
  std::vector<T> buffer;
  for (std::int64_t n = 0; n < in.dim(0); ++n) {
    const eigen_detail::const_matrix_map<T> X(in.data + n * ci * g.col_cols(), ci, g.col_cols());
    eigen_detail::add_col2im_product(g, W.transpose(), X, out.data + n * image, buffer);
  }
  eigen_detail::add_channel_bias(out, bias);
}

// din[n] += W * im2col(dout[n]), dW += in[n] * im2col(dout[n])^T.
template <real T>
void conv_transpose2d_backward(eigen_backend&, tensor_view<T> din, tensor_view<T> dweight, tensor_view<T> dbias,
                               const_view<T> dout, const_view<T> in, const_view<T> weight, conv2d_params p) {
  const char* op = "conv_transpose2d_backward";
  contract::conv2d<const T>(op, dout, in, weight, const_view<T>(dbias), p, true);
  expect_contiguous(op, "dout", dout);
  const bool want_in = contract::wanted_gradient(op, "din", din, in);
  const bool want_weight = contract::wanted_gradient(op, "dweight", dweight, weight);
  if (want_in) expect_contiguous(op, "din", din);
  if (want_weight) expect_contiguous(op, "dweight", dweight);
  const eigen_detail::conv_geometry g{dout.dim(1), dout.dim(2), dout.dim(3), weight.dim(2), weight.dim(3), in.dim(2), in.dim(3), p};
  const std::int64_t ci = in.dim(1), image = dout.dim(1) * g.img_h * g.img_w;
  const auto W = eigen_detail::as_matrix(weight, ci, g.col_rows());
  std::vector<T> buffer;
  if (want_in || want_weight) {
    for (std::int64_t n = 0; n < in.dim(0); ++n) {
      const auto cols = eigen_detail::columns(g, dout.data + n * image, buffer);
      if (want_in) eigen_detail::matrix_map<T>(din.data + n * ci * g.col_cols(), ci, g.col_cols()).noalias() += W * cols;
      if (want_weight) {
        const eigen_detail::const_matrix_map<T> X(in.data + n * ci * g.col_cols(), ci, g.col_cols());
        eigen_detail::as_matrix(dweight, ci, g.col_rows()).noalias() += X * cols.transpose();
      }
    }
  }
  if (!dbias.empty()) eigen_detail::channel_bias_backward(dbias, dout);
}

}  // namespace patchzoo
