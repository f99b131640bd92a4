#pragma once
// Reference segment max-pooling: out[s] = max over rows offsets[s]..offsets[s+1] of in[T, D], with the
// winning row saved per element (first maximum wins; -1 for an empty segment, whose output is 0).
#include "patchzoo/backend/contracts/gradients.hpp"
#include "patchzoo/backend/contracts/index_values.hpp"
#include "patchzoo/backend/contracts/transformer.hpp"
#include "patchzoo/backend/xtensor/xt_includes.hpp"

namespace patchzoo {

struct xtensor_backend;

template <real T>
void segment_maxpool_forward(xtensor_backend&, tensor_view<T> out, tensor_view<std::int32_t> argmax, const_view<T> in,
                             const_view<std::int32_t> offsets) {
  const char* op = "segment_maxpool_forward";
  contract::segment_maxpool(op, out, argmax, in, offsets);
  expect_contiguous(op, "input", in);
  expect_contiguous(op, "output", out);
  expect_contiguous(op, "argmax", argmax);
  expect_contiguous(op, "offsets", offsets);
  contract::segment_offsets(op, offsets.data, offsets.numel(), in.dim(0));
  auto X = xt_detail::adapt(in);
  auto Y = xt_detail::adapt(out);
  auto A = xt_detail::adapt(argmax);
  for (std::size_t s = 0; s < Y.shape(0); ++s) {
    const std::int32_t begin = offsets.data[s], end = offsets.data[s + 1];
    for (std::size_t d = 0; d < Y.shape(1); ++d) {
      std::int32_t best = -1;
      for (std::int32_t t = begin; t < end; ++t)
        if (best < 0 || X(t, d) > X(best, d)) best = t;
      Y(s, d) = best < 0 ? T(0) : X(best, d);
      A(s, d) = best;
    }
  }
}

// din[argmax[s, d], d] += dout[s, d]; empty segments (-1) route nothing.
template <real T>
void segment_maxpool_backward(xtensor_backend&, tensor_view<T> din, const_view<T> dout,
                              const_view<std::int32_t> argmax) {
  const char* op = "segment_maxpool_backward";
  expect_rank(op, "dout", dout, 2);
  expect_contiguous(op, "dout", dout);
  expect_shape(op, "argmax", argmax, dout.shape);
  expect_contiguous(op, "argmax", argmax);
  if (din.empty()) return;
  expect_rank(op, "din", din, 2);
  expect_contiguous(op, "din", din);
  check(din.dim(1) == dout.dim(1), op, "din ", din.shape, " and dout ", dout.shape, " differ in width");
  contract::argmax_slots(op, argmax.data, argmax.numel(), din.dim(0), true);
  auto D = xt_detail::adapt(din);
  auto G = xt_detail::adapt(dout);
  auto A = xt_detail::adapt(argmax);
  for (std::size_t s = 0; s < G.shape(0); ++s)
    for (std::size_t d = 0; d < G.shape(1); ++d)
      if (A(s, d) >= 0) D(A(s, d), d) += G(s, d);
}

}  // namespace patchzoo
