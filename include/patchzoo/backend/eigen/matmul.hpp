#pragma once
// GEMM through Eigen's product, which EIGEN_USE_BLAS routes to OpenBLAS sgemm/dgemm. Transposes are
// Eigen expressions over the same row-major maps (BLAS transpose flags), never copies.
#include <type_traits>

#include "patchzoo/backend/contracts/transformer.hpp"
#include "patchzoo/backend/eigen/eigen_includes.hpp"
#include "patchzoo/backend/eigen/float16x.hpp"

namespace patchzoo {

struct eigen_backend;

namespace eigen_detail {

// A few rows times B^T (one new position per sequence in KV-cached decoding: x W^T with W [n, k]):
// sgemm packs W and reads it at a fraction of the memory rate here, while row dots stream each row of W
// once, reusing it for every row of A from L1. Measured at 2-8 rows and n >= 128; n < 32 stays on sgemm.
constexpr std::int64_t skinny_max_rows = 8, skinny_min_cols = 32;

template <class T>
void skinny_gemm_trans_b(matrix_map<T> C, const const_matrix_map<T>& A, const const_matrix_map<T>& B, T alpha,
                         T beta) {
  const std::int64_t m = A.rows(), n = B.rows();
  parallel_for(n, m * n * A.cols(), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t j = lo; j < hi; ++j) {
      for (std::int64_t i = 0; i < m; ++i) {
        const T dot = alpha * A.row(i).dot(B.row(j));
        C(i, j) = beta == T(0) ? dot : dot + beta * C(i, j);
      }
    }
  });
}

// A few rows times B, where B is a weight kept transposed ([k, n]: KV-cached decoding holds such copies).
// Each tile of up to 12 rows and 32 columns keeps its sums in vector registers; per k it loads one
// 32-float piece of B's row k and broadcasts each row's x[r][k] into it, so B streams once from memory
// and is reused from L1 by every row block, with nothing to pack. sgemm packs B on every call, which at
// these row counts costs about what the multiply does; measured faster up to 256 rows (bench_gemm:
// decode_projections; docs/performance.md).
constexpr std::int64_t broadcast_max_rows = 256;

template <int Rows, int Vectors>
void broadcast_tile(const float* a, std::int64_t lda, const float* b, std::int64_t ldb, std::int64_t k, float alpha,
                    float beta, float* c, std::int64_t ldc) {
  float16x acc[Rows][Vectors];
  for (auto& row : acc)
    for (auto& v : row) v = float16x{};
  for (std::int64_t t = 0; t < k; ++t) {
    float16x bv[Vectors];
    for (int v = 0; v < Vectors; ++v) bv[v] = *vec16(b + t * ldb + v * float16x_lanes);
    for (int r = 0; r < Rows; ++r) {
      const float x = a[r * lda + t];
      for (int v = 0; v < Vectors; ++v) acc[r][v] += x * bv[v];
    }
  }
  for (int r = 0; r < Rows; ++r)
    for (int v = 0; v < Vectors; ++v) {
      float* out = c + r * ldc + v * float16x_lanes;
      *vec16(out) = beta == 0.0f ? alpha * acc[r][v] : alpha * acc[r][v] + beta * *vec16(out);
    }
}

// Tiles of 1..12 rows: 12 x 2 vectors of sums, B's two vectors and a broadcast fill 27 of AVX-512's 32
// registers.
constexpr int broadcast_tile_max_rows = 12;

template <int Vectors, int Rows = broadcast_tile_max_rows>
void broadcast_tile_of(int rows, const float* a, std::int64_t lda, const float* b, std::int64_t ldb, std::int64_t k,
                       float alpha, float beta, float* c, std::int64_t ldc) {
  if constexpr (Rows >= 1) {
    if (rows == Rows) return broadcast_tile<Rows, Vectors>(a, lda, b, ldb, k, alpha, beta, c, ldc);
    broadcast_tile_of<Vectors, Rows - 1>(rows, a, lda, b, ldb, k, alpha, beta, c, ldc);
  }
}

// Rows [0, m) of columns [j0, j0 + 16 * Vectors), in as few tiles as fit and of near-equal height: a
// short remainder tile (10 rows as 8 + 2) would stream B's panel once more for little arithmetic.
template <int Vectors>
void broadcast_panel(const float* a, std::int64_t m, std::int64_t k, const float* b, std::int64_t n, std::int64_t j0,
                     float alpha, float beta, float* c) {
  const std::int64_t tiles = (m + broadcast_tile_max_rows - 1) / broadcast_tile_max_rows;
  for (std::int64_t t = 0, i = 0; t < tiles; ++t) {
    const std::int64_t rows = (m - i) / (tiles - t);  // the remaining rows split evenly over the remaining tiles
    broadcast_tile_of<Vectors>(static_cast<int>(rows), a + i * k, k, b + j0, n, k, alpha, beta, c + i * n + j0, n);
    i += rows;
  }
}

inline void broadcast_gemm(matrix_map<float> C, const const_matrix_map<float>& A, const const_matrix_map<float>& B,
                           float alpha, float beta) {
  const std::int64_t m = A.rows(), k = A.cols(), n = B.cols(), panels = (n + 31) / 32;
  parallel_for(panels, m * n * k, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t panel = lo; panel < hi; ++panel) {
      const std::int64_t j0 = 32 * panel, width = std::min<std::int64_t>(32, n - j0);
      if (width == 32) {
        broadcast_panel<2>(A.data(), m, k, B.data(), n, j0, alpha, beta, C.data());
        continue;
      }
      std::int64_t j = j0;
      if (width >= 16) {
        broadcast_panel<1>(A.data(), m, k, B.data(), n, j0, alpha, beta, C.data());
        j += 16;
      }
      for (; j < j0 + width; ++j)  // the last n % 16 columns
        for (std::int64_t i = 0; i < m; ++i) {
          const float dot = alpha * A.row(i).dot(B.col(j));
          C(i, j) = beta == 0.0f ? dot : dot + beta * C(i, j);
        }
    }
  });
}

// C = alpha op(A) op(B) + beta C on one matrix; beta == 0 overwrites, so garbage (even NaN) in C never
// leaks into the result.
template <class T>
void gemm(matrix_map<T> C, const const_matrix_map<T>& A, const const_matrix_map<T>& B, bool trans_a, bool trans_b,
          T alpha, T beta) {
  if (!trans_a && trans_b && A.rows() <= skinny_max_rows && B.rows() >= skinny_min_cols) {
    skinny_gemm_trans_b(C, A, B, alpha, beta);
    return;
  }
  if constexpr (std::is_same_v<T, float>) {
    if (!trans_a && !trans_b && A.rows() <= broadcast_max_rows && B.cols() >= float16x_lanes) {
      broadcast_gemm(C, A, B, alpha, beta);
      return;
    }
  }
  if (beta == T(0)) C.setZero();
  else if (beta != T(1)) C *= beta;
  if (trans_a && trans_b) C.noalias() += alpha * A.transpose() * B.transpose();
  else if (trans_a) C.noalias() += alpha * A.transpose() * B;
  else if (trans_b) C.noalias() += alpha * A * B.transpose();
  else C.noalias() += alpha * A * B;
}

}  // namespace eigen_detail

template <real T>
void matmul(eigen_backend&, tensor_view<T> c, const_view<T> a, const_view<T> b, bool trans_a, bool trans_b,
            T alpha = T(1), T beta = T(0)) {
  const auto d = contract::matmul(c, a, b, trans_a, trans_b);
  const std::int64_t b_rows = trans_b ? d.n : d.k, b_cols = trans_b ? d.k : d.n;
  const eigen_detail::const_matrix_map<T> shared_b(b.data, b_rows, b_cols);
  // A batch of row-major [m, k] matrices times one shared B is a single [batch * m, k] GEMM.
  if (a.rank() == 3 && b.rank() == 2 && !trans_a) {
    eigen_detail::gemm(eigen_detail::matrix_map<T>(c.data, d.batch * d.m, d.n),
                       eigen_detail::const_matrix_map<T>(a.data, d.batch * d.m, d.k), shared_b, false, trans_b, alpha,
                       beta);
    return;
  }
  const std::int64_t a_rows = trans_a ? d.k : d.m, a_cols = trans_a ? d.m : d.k;
  for (std::int64_t p = 0; p < d.batch; ++p) {
    const eigen_detail::const_matrix_map<T> A(a.data + (a.rank() == 3 ? p * a_rows * a_cols : 0), a_rows, a_cols);
    const eigen_detail::const_matrix_map<T> B(b.data + (b.rank() == 3 ? p * b_rows * b_cols : 0), b_rows, b_cols);
    eigen_detail::gemm(eigen_detail::matrix_map<T>(c.data + p * d.m * d.n, d.m, d.n), A, B, trans_a, trans_b, alpha,
                       beta);
  }
}

}  // namespace patchzoo
