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

}  // namespace patchzoo::contract
