#pragma once
// Contracts of the convolution and pooling ops (NCHW, row-major).
#include "patchzoo/backend/contracts/common.hpp"
#include "patchzoo/backend/op_params.hpp"

namespace patchzoo::contract {

inline std::int64_t conv_out_size(std::int64_t in, std::int64_t k, const conv2d_params& p) {
  return (in + 2 * p.padding - k) / p.stride + 1;
}
inline std::int64_t conv_transpose_out_size(std::int64_t in, std::int64_t k, const conv2d_params& p) {
  return (in - 1) * p.stride - 2 * p.padding + k;
}

// conv2d: out[N, Co, Ho, Wo] from in[N, Ci, H, W], weight[Co, Ci, Kh, Kw], bias [Co] or empty.
// transposed = true: weight is [Ci, Co, Kh, Kw] and sizes follow conv_transpose_out_size.
template <class T>
void conv2d(const char* op, const tensor_view<T>& out, const const_view<T>& in, const const_view<T>& weight,
            const const_view<T>& bias, const conv2d_params& p, bool transposed) {
  expect_rank(op, "input", in, 4);
  expect_rank(op, "weight", weight, 4);
  expect_contiguous(op, "input", in);
  expect_contiguous(op, "weight", weight);
  check(p.stride >= 1 && p.padding >= 0, op, "stride ", p.stride, " and padding ", p.padding, " are invalid");
  const std::int64_t ci = transposed ? weight.dim(0) : weight.dim(1);
  const std::int64_t co = transposed ? weight.dim(1) : weight.dim(0);
  check(in.dim(1) == ci, op, "input ", in.shape, " has ", in.dim(1), " channels but weight ",
        weight.shape, " expects ", ci);
  const std::int64_t ho = transposed ? conv_transpose_out_size(in.dim(2), weight.dim(2), p)
                                     : conv_out_size(in.dim(2), weight.dim(2), p);
  const std::int64_t wo = transposed ? conv_transpose_out_size(in.dim(3), weight.dim(3), p)
                                     : conv_out_size(in.dim(3), weight.dim(3), p);
  check(ho >= 1 && wo >= 1, op, "input ", in.shape, " is too small for weight ", weight.shape);
  expect_shape(op, "output", out, shape_t{in.dim(0), co, ho, wo});
  if (!bias.empty()) expect_shape(op, "bias", bias, shape_t{co});
}

template <class T>
void pool2d(const char* op, const tensor_view<T>& out, const const_view<T>& in, const pool2d_params& p) {
  expect_rank(op, "input", in, 4);
  expect_contiguous(op, "input", in);
  check(p.kernel >= 1 && p.stride >= 1, op, "kernel ", p.kernel, " and stride ", p.stride, " are invalid");
  check(in.dim(2) >= p.kernel && in.dim(3) >= p.kernel, op, "input ", in.shape, " is smaller than the ",
        p.kernel, "x", p.kernel, " window");
  expect_shape(op, "output", out,
               shape_t{in.dim(0), in.dim(1), (in.dim(2) - p.kernel) / p.stride + 1,
                       (in.dim(3) - p.kernel) / p.stride + 1});
}

// group_norm: out[N, C, H, W] from in[N, C, H, W], weight[C], bias[C]; saved mean / rstd are [N, G] and C
// must be a multiple of G. Backward passes dout as out, with its name.
template <class T, class S>
void group_norm(const char* op, const tensor_view<T>& out, const const_view<T>& in, const const_view<T>& weight,
                const const_view<T>& bias, const tensor_view<S>& mean, const tensor_view<S>& rstd, int groups,
                const char* out_name = "output") {
  expect_rank(op, "input", in, 4);
  expect_contiguous(op, "input", in);
  check(groups >= 1 && in.dim(1) % groups == 0, op, "input ", in.shape, " has ", in.dim(1),
        " channels, not a multiple of ", groups, " groups");
  expect_shape(op, out_name, out, in.shape);
  expect_contiguous(op, out_name, out);
  expect_shape(op, "weight", weight, shape_t{in.dim(1)});
  expect_shape(op, "bias", bias, shape_t{in.dim(1)});
  expect_shape(op, "saved mean", mean, shape_t{in.dim(0), groups});
  expect_shape(op, "saved rstd", rstd, shape_t{in.dim(0), groups});
  expect_contiguous(op, "saved mean", mean);
  expect_contiguous(op, "saved rstd", rstd);
}

// upsample_nearest2x: out[N, C, 2H, 2W] from in[N, C, H, W]; backward passes dout, din and their names.
template <class T, class U>
void upsample_nearest2x(const char* op, const tensor_view<T>& out, const tensor_view<U>& in,
                        const char* out_name = "output", const char* in_name = "input") {
  expect_rank(op, in_name, in, 4);
  expect_contiguous(op, in_name, in);
  expect_contiguous(op, out_name, out);
  expect_shape(op, out_name, out, shape_t{in.dim(0), in.dim(1), 2 * in.dim(2), 2 * in.dim(3)});
}

// pad2d: out[N, C, H + top + bottom, W + left + right] from in[N, C, H, W], every amount >= 0; backward
// passes dout, din and their names.
template <class T, class U>
void pad2d(const char* op, const tensor_view<T>& out, const tensor_view<U>& in, const pad2d_params& p,
           const char* out_name = "output", const char* in_name = "input") {
  expect_rank(op, in_name, in, 4);
  expect_contiguous(op, in_name, in);
  expect_contiguous(op, out_name, out);
  check(p.top >= 0 && p.bottom >= 0 && p.left >= 0 && p.right >= 0, op, "paddings (top ", p.top, ", bottom ",
        p.bottom, ", left ", p.left, ", right ", p.right, ") must not be negative");
  expect_shape(op, out_name, out,
               shape_t{in.dim(0), in.dim(1), in.dim(2) + p.top + p.bottom, in.dim(3) + p.left + p.right});
}

}  // namespace patchzoo::contract
