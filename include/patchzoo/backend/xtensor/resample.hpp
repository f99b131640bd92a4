#pragma once
// Reference spatial resampling of NCHW tensors: nearest-neighbour 2x upsampling and zero padding by
// separate amounts per side (pad2d), each with its adjoint as backward.
#include "patchzoo/backend/contracts/conv.hpp"
#include "patchzoo/backend/xtensor/xt_includes.hpp"

namespace patchzoo {

struct xtensor_backend;

// out[n, c, y, x] = in[n, c, y / 2, x / 2].
template <real T>
void upsample_nearest2x_forward(xtensor_backend&, tensor_view<T> out, const_view<T> in) {
  contract::upsample_nearest2x("upsample_nearest2x_forward", out, in);
  auto X = xt_detail::adapt(in);
  auto Y = xt_detail::adapt(out);
  for (std::size_t n = 0; n < Y.shape(0); ++n)
    for (std::size_t c = 0; c < Y.shape(1); ++c)
      for (std::size_t y = 0; y < Y.shape(2); ++y)
        for (std::size_t x = 0; x < Y.shape(3); ++x) Y(n, c, y, x) = X(n, c, y / 2, x / 2);
}

// din[n, c, i, j] += the sum of dout over its 2x2 block.
template <real T>
void upsample_nearest2x_backward(xtensor_backend&, tensor_view<T> din, const_view<T> dout) {
  const char* op = "upsample_nearest2x_backward";
  if (din.empty()) return;
  contract::upsample_nearest2x(op, dout, din, "dout", "din");
  auto D = xt_detail::adapt(din);
  auto G = xt_detail::adapt(dout);
  for (std::size_t n = 0; n < D.shape(0); ++n)
    for (std::size_t c = 0; c < D.shape(1); ++c)
      for (std::size_t i = 0; i < D.shape(2); ++i)
        for (std::size_t j = 0; j < D.shape(3); ++j) {
          const double s = static_cast<double>(G(n, c, 2 * i, 2 * j)) + G(n, c, 2 * i, 2 * j + 1) +
                           G(n, c, 2 * i + 1, 2 * j) + G(n, c, 2 * i + 1, 2 * j + 1);
          D(n, c, i, j) = static_cast<T>(D(n, c, i, j) + s);
        }
}

// out is in surrounded by zeros: p.top rows above, p.bottom below, p.left columns left, p.right right.
template <real T>
void pad2d_forward(xtensor_backend&, tensor_view<T> out, const_view<T> in, pad2d_params p) {
  contract::pad2d("pad2d_forward", out, in, p);
  auto X = xt_detail::adapt(in);
  auto Y = xt_detail::adapt(out);
  Y.fill(T(0));
  for (std::size_t n = 0; n < X.shape(0); ++n)
    for (std::size_t c = 0; c < X.shape(1); ++c)
      for (std::size_t y = 0; y < X.shape(2); ++y)
        for (std::size_t x = 0; x < X.shape(3); ++x)
          Y(n, c, y + static_cast<std::size_t>(p.top), x + static_cast<std::size_t>(p.left)) = X(n, c, y, x);
}

// The crop: din += dout's interior.
template <real T>
void pad2d_backward(xtensor_backend&, tensor_view<T> din, const_view<T> dout, pad2d_params p) {
  const char* op = "pad2d_backward";
  if (din.empty()) return;
  contract::pad2d(op, dout, din, p, "dout", "din");
  auto D = xt_detail::adapt(din);
  auto G = xt_detail::adapt(dout);
  for (std::size_t n = 0; n < D.shape(0); ++n)
    for (std::size_t c = 0; c < D.shape(1); ++c)
      for (std::size_t y = 0; y < D.shape(2); ++y)
        for (std::size_t x = 0; x < D.shape(3); ++x)
          D(n, c, y, x) += G(n, c, y + static_cast<std::size_t>(p.top), x + static_cast<std::size_t>(p.left));
}

}  // namespace patchzoo
