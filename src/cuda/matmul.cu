// matmul through cublasSgemmStridedBatched. cuBLAS is column-major and a row-major matrix read as
// column-major is its transpose, so c^T = op(b)^T op(a)^T is computed: operands swapped, flags kept.
#include "launch.hpp"
#include "patchzoo/backend/contracts/transformer.hpp"

namespace patchzoo {

void matmul(cuda_backend& be, tensor_view<float> c, const_view<float> a, const_view<float> b, bool trans_a,
            bool trans_b, float alpha, float beta) {
  const auto d = contract::matmul(c, a, b, trans_a, trans_b);
  if (d.batch == 0 || d.m == 0 || d.n == 0) return;
  const int m = static_cast<int>(d.m), n = static_cast<int>(d.n), k = static_cast<int>(d.k);
  check(d.m == m && d.n == n && d.k == k && d.batch <= INT32_MAX, "matmul", "dimensions ", d.m, "x", d.n, "x", d.k,
        " exceed cuBLAS's 32-bit sizes");
  // Leading dimensions of the row-major storage: the length of a stored row.
  const int lda = trans_a ? m : k;
  const int ldb = trans_b ? k : n;
  const long long stride_a = a.rank() == 3 ? static_cast<long long>(m) * k : 0;
  const long long stride_b = b.rank() == 3 ? static_cast<long long>(k) * n : 0;
  const long long stride_c = static_cast<long long>(m) * n;
  // beta == 0: cuBLAS does not read c, so garbage (even NaN) in c never leaks into the result.
  cublas_check(cublasSgemmStridedBatched(be.blas, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                                         trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &alpha, b.data, ldb,
                                         stride_b, a.data, lda, stride_a, &beta, c.data, n, stride_c,
                                         static_cast<int>(d.batch)),
               "matmul: cublasSgemmStridedBatched");
}

}  // namespace patchzoo
