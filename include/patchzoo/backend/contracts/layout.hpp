#pragma once
// Contracts of the layout ops: row_argmax (index of each row's maximum) and transpose_last2 (a
// per-batch matrix transpose, NCHW feature maps <-> [tokens, channels] rows).
#include "patchzoo/backend/contracts/common.hpp"

namespace patchzoo::contract {

// out[N] int32 from in[N, C], C >= 1; both contiguous.
template <class T>
void row_argmax(const char* op, const tensor_view<std::int32_t>& out, const const_view<T>& in) {
  expect_rank(op, "input", in, 2);
  expect_contiguous(op, "input", in);
  expect_contiguous(op, "output", out);
  check(in.dim(1) >= 1, op, "input ", in.shape, " has no columns to take the maximum of");
  expect_shape(op, "output", out, shape_t{in.dim(0)});
}

// out[B, N, M] from in[B, M, N]; both contiguous and not overlapping.
template <class T>
void transpose_last2(const char* op, const tensor_view<T>& out, const const_view<T>& in) {
  expect_rank(op, "input", in, 3);
  expect_contiguous(op, "input", in);
  expect_contiguous(op, "output", out);
  expect_shape(op, "output", out, shape_t{in.dim(0), in.dim(2), in.dim(1)});
  const auto* o = static_cast<const void*>(out.data);
  const auto* i = static_cast<const void*>(in.data);
  check(out.numel() == 0 || o != i, op, "output and input share memory; the transpose cannot run in place");
}

}  // namespace patchzoo::contract
