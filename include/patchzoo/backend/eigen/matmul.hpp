#pragma once
// GEMM through Eigen's product, which EIGEN_USE_BLAS routes to OpenBLAS sgemm/dgemm.
#include "patchzoo/backend/contracts/transformer.hpp"
#include "patchzoo/backend/eigen/eigen_includes.hpp"

namespace patchzoo {

struct eigen_backend;

template <real T>
void matmul(eigen_backend&, tensor_view<T> c, const_view<T> a, const_view<T> b, bool trans_a, bool trans_b,
            T alpha = T(1), T beta = T(0)) {
  const auto d = contract::matmul(c, a, b, trans_a, trans_b);
  const std::int64_t a_rows = trans_a ? d.k : d.m, a_cols = trans_a ? d.m : d.k;
  const std::int64_t b_rows = trans_b ? d.n : d.k, b_cols = trans_b ? d.k : d.n;
  for (std::int64_t p = 0; p < d.batch; ++p) {
    const_view<T> ap(a.data + (a.rank() == 3 ? p * a_rows * a_cols : 0), shape_t{a_rows, a_cols});
    const_view<T> bp(b.data + (b.rank() == 3 ? p * b_rows * b_cols : 0), shape_t{b_rows, b_cols});
    auto C = eigen_detail::as_matrix(tensor_view<T>(c.data + p * d.m * d.n, shape_t{d.m, d.n}), d.m, d.n);
    const auto A = eigen_detail::as_matrix(ap, a_rows, a_cols);
    const auto B = eigen_detail::as_matrix(bp, b_rows, b_cols);
    // beta == 0 overwrites, so garbage (even NaN) in c never leaks into the result.
    if (beta == T(0)) C.setZero();
    else if (beta != T(1)) C *= beta;
    if (trans_a && trans_b) C.noalias() += alpha * A.transpose() * B.transpose();
    else if (trans_a) C.noalias() += alpha * A.transpose() * B;
    else if (trans_b) C.noalias() += alpha * A * B.transpose();
    else C.noalias() += alpha * A * B;
  }
}

}  // namespace patchzoo
