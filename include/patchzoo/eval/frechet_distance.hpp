#pragma once
// The Frechet distance between two Gaussians, d^2 = ||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)),
// the formula of FID. tr((S1 S2)^(1/2)) is computed as tr((S1^(1/2) S2 S1^(1/2))^(1/2)): both roots are
// of symmetric positive semi-definite matrices, so a symmetric eigen-solver suffices (no complex parts).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "patchzoo/backend/eigen/symmetric_eigen.hpp"
#include "patchzoo/eval/feature_statistics.hpp"

namespace patchzoo::eval {

namespace frechet_detail {

// c = a b for n x n row-major matrices.
inline std::vector<double> multiply(std::int64_t n, const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> c(static_cast<std::size_t>(n * n), 0.0);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t k = 0; k < n; ++k) {
      const double aik = a[i * n + k];
      for (std::int64_t j = 0; j < n; ++j) c[i * n + j] += aik * b[k * n + j];
    }
  return c;
}

}  // namespace frechet_detail

// The principal square root V diag(sqrt(max(lambda, 0))) V^T of a symmetric PSD matrix; eigenvalues
// that rounding pushed slightly below zero count as zero.
inline std::vector<double> symmetric_sqrt(std::int64_t n, const std::vector<double>& a) {
  check(static_cast<std::int64_t>(a.size()) == n * n, "symmetric_sqrt", "expected ", n * n, " entries, got ", a.size());
  std::vector<double> values(static_cast<std::size_t>(n)), vectors(static_cast<std::size_t>(n * n));
  symmetric_eigen(n, a.data(), values.data(), vectors.data());
  std::vector<double> root(static_cast<std::size_t>(n * n), 0.0);
  for (std::int64_t k = 0; k < n; ++k) {
    const double s = std::sqrt(std::max(values[k], 0.0));
    if (s == 0.0) continue;
    for (std::int64_t i = 0; i < n; ++i) {
      const double vik = vectors[i * n + k] * s;
      for (std::int64_t j = 0; j < n; ++j) root[i * n + j] += vik * vectors[j * n + k];
    }
  }
  return root;
}

// tr((S1 S2)^(1/2)) for symmetric PSD S1, S2.
inline double trace_sqrt_product(std::int64_t n, const std::vector<double>& s1, const std::vector<double>& s2) {
  using frechet_detail::multiply;
  const auto r1 = symmetric_sqrt(n, s1);
  auto m = multiply(n, multiply(n, r1, s2), r1);
  for (std::int64_t i = 0; i < n; ++i)  // symmetrise away the rounding of the two products
    for (std::int64_t j = 0; j < i; ++j) m[i * n + j] = m[j * n + i] = 0.5 * (m[i * n + j] + m[j * n + i]);
  std::vector<double> values(static_cast<std::size_t>(n)), vectors(static_cast<std::size_t>(n * n));
  symmetric_eigen(n, m.data(), values.data(), vectors.data());
  double trace = 0;
  for (const double v : values) trace += std::sqrt(std::max(v, 0.0));
  return trace;
}

inline double frechet_distance_from_statistics(const feature_statistics& a, const feature_statistics& b) {
  check(a.dim == b.dim && a.dim > 0, "frechet_distance", "feature dimensions differ or are empty: ", a.dim, " vs ",
        b.dim);
  const std::int64_t n = a.dim;
  check(static_cast<std::int64_t>(a.mean.size()) == n && static_cast<std::int64_t>(b.mean.size()) == n &&
            static_cast<std::int64_t>(a.covariance.size()) == n * n &&
            static_cast<std::int64_t>(b.covariance.size()) == n * n,
        "frechet_distance", "statistics of dimension ", n, " have the wrong number of mean/covariance entries");
  double mean_term = 0, trace_term = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const double d = a.mean[i] - b.mean[i];
    mean_term += d * d;
    trace_term += a.covariance[i * n + i] + b.covariance[i * n + i];
  }
  return mean_term + trace_term - 2.0 * trace_sqrt_product(n, a.covariance, b.covariance);
}

// FID between two feature sets [N1, F] and [N2, F].
template <class T>
double frechet_distance(const tensor<T>& features_a, const tensor<T>& features_b) {
  return frechet_distance_from_statistics(compute_feature_statistics(features_a), compute_feature_statistics(features_b));
}

}  // namespace patchzoo::eval
