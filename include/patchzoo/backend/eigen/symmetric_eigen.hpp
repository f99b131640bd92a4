#pragma once
// Eigen-decomposition of a real symmetric matrix in double: the one place that uses Eigen's
// SelfAdjointEigenSolver. Plain arrays in and out, so callers outside backend/eigen/ (the evaluation
// metrics) need not include Eigen.
#include <Eigen/Eigenvalues>

#include <cstdint>

#include "patchzoo/backend/eigen/eigen_includes.hpp"
#include "patchzoo/core/error.hpp"

namespace patchzoo {

// a: n x n row-major, symmetric (only its lower triangle is read). Writes the n eigenvalues in
// ascending order and the eigenvectors as the COLUMNS of the n x n row-major `eigenvectors`,
// so a = V diag(values) V^T.
inline void symmetric_eigen(std::int64_t n, const double* a, double* eigenvalues, double* eigenvectors) {
  check(n > 0, "symmetric_eigen", "matrix size must be positive, got ", n);
  const eigen_detail::const_matrix_map<double> m(a, n, n);
  const Eigen::SelfAdjointEigenSolver<eigen_detail::row_matrix<double>> solver(m, Eigen::ComputeEigenvectors);
  check(solver.info() == Eigen::Success, "symmetric_eigen", "the eigen-solver did not converge on a ", n, " x ", n,
        " matrix (non-finite entries?)");
  Eigen::Map<Eigen::VectorXd>(eigenvalues, n) = solver.eigenvalues();
  eigen_detail::matrix_map<double>(eigenvectors, n, n) = solver.eigenvectors();
}

}  // namespace patchzoo
