#pragma once
// Reference layout ops: row_argmax (first maximum wins) and the per-batch transpose of the last two dims.
#include "patchzoo/backend/contracts/layout.hpp"
#include "patchzoo/backend/xtensor/xt_includes.hpp"

namespace patchzoo {

struct xtensor_backend;

template <real T>
void row_argmax(xtensor_backend&, tensor_view<std::int32_t> out, const_view<T> in) {
  contract::row_argmax("row_argmax", out, in);
  const auto X = xt_detail::adapt(in);
  for (std::int64_t n = 0; n < in.dim(0); ++n) {
    std::int64_t best = 0;
    for (std::int64_t c = 1; c < in.dim(1); ++c)
      if (X(n, c) > X(n, best)) best = c;
    out.data[n] = static_cast<std::int32_t>(best);
  }
}

// out = in^T per batch, or out += in^T with accumulate; its own adjoint, so backward is the same call.
template <real T>
void transpose_last2(xtensor_backend&, tensor_view<T> out, const_view<T> in, bool accumulate) {
  contract::transpose_last2("transpose_last2", out, in);
  auto O = xt_detail::adapt(out);
  const auto X = xt_detail::adapt(in);
  const auto XT = xt::transpose(X, {0, 2, 1});
  if (accumulate) O += XT;
  else O = XT;
}

}  // namespace patchzoo
