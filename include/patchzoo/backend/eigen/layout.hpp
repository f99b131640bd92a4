#pragma once
// Layout ops: row_argmax (first maximum wins; rows split over threads) and the per-batch transpose of
// the last two dims (one Eigen transpose per batch, batches split over threads).
#include "patchzoo/backend/contracts/layout.hpp"
#include "patchzoo/backend/eigen/eigen_includes.hpp"

namespace patchzoo {

struct eigen_backend;

template <real T>
void row_argmax(eigen_backend&, tensor_view<std::int32_t> out, const_view<T> in) {
  contract::row_argmax("row_argmax", out, in);
  const std::int64_t cols = in.dim(1);
  const T* p = in.data;
  std::int32_t* o = out.data;
  eigen_detail::parallel_for(in.dim(0), in.numel(), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t n = lo; n < hi; ++n) {
      const T* row = p + n * cols;
      std::int64_t best = 0;
      for (std::int64_t c = 1; c < cols; ++c)
        if (row[c] > row[best]) best = c;
      o[n] = static_cast<std::int32_t>(best);
    }
  });
}

// out = in^T per batch, or out += in^T with accumulate; its own adjoint, so backward is the same call.
template <real T>
void transpose_last2(eigen_backend&, tensor_view<T> out, const_view<T> in, bool accumulate) {
  contract::transpose_last2("transpose_last2", out, in);
  const std::int64_t m = in.dim(1), n = in.dim(2);
  eigen_detail::parallel_for(in.dim(0), in.numel(), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t b = lo; b < hi; ++b) {
      const eigen_detail::const_matrix_map<T> src(in.data + b * m * n, m, n);
      eigen_detail::matrix_map<T> dst(out.data + b * m * n, n, m);
      if (accumulate) dst += src.transpose();
      else dst = src.transpose();
    }
  });
}

}  // namespace patchzoo
