#pragma once
// Improved precision and recall (Kynkaanniemi et al. 2019): each set's manifold is the union of balls
// around its samples, each ball's radius the distance to that sample's k-th nearest neighbour in its
// own set. Precision = share of generated samples inside the real manifold (fidelity); recall = share
// of real samples inside the generated manifold (coverage).
#include <algorithm>
#include <cstdint>
#include <vector>

#include "patchzoo/core/error.hpp"
#include "patchzoo/core/tensor.hpp"

namespace patchzoo::eval {

struct precision_recall_result {
  double precision = 0;
  double recall = 0;
};

namespace precision_recall_detail {

template <class T>
double squared_distance(const tensor<T>& a, std::int64_t i, const tensor<T>& b, std::int64_t j, std::int64_t f) {
  double d = 0;
  for (std::int64_t k = 0; k < f; ++k) {
    const double x = static_cast<double>(a[i * f + k]) - static_cast<double>(b[j * f + k]);
    d += x * x;
  }
  return d;
}

// Squared k-NN radius of every sample of `set` within `set` (itself excluded).
template <class T>
std::vector<double> knn_radii(const tensor<T>& set, std::int64_t k) {
  const std::int64_t n = set.dim(0), f = set.dim(1);
  std::vector<double> radii(static_cast<std::size_t>(n)), row(static_cast<std::size_t>(n - 1));
  for (std::int64_t i = 0; i < n; ++i) {
    std::int64_t m = 0;
    for (std::int64_t j = 0; j < n; ++j)
      if (j != i) row[m++] = squared_distance(set, i, set, j, f);
    std::nth_element(row.begin(), row.begin() + (k - 1), row.end());
    radii[i] = row[k - 1];
  }
  return radii;
}

// Share of `queries` within the radius of at least one sample of `reference`.
template <class T>
double coverage(const tensor<T>& queries, const tensor<T>& reference, const std::vector<double>& radii) {
  const std::int64_t n = queries.dim(0), m = reference.dim(0), f = queries.dim(1);
  std::int64_t inside = 0;
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < m; ++j)
      if (squared_distance(queries, i, reference, j, f) <= radii[j]) {
        ++inside;
        break;
      }
  return static_cast<double>(inside) / static_cast<double>(n);
}

}  // namespace precision_recall_detail

// real: [N, F], generated: [M, F], both with more than k samples.
template <class T>
precision_recall_result knn_precision_recall(const tensor<T>& real, const tensor<T>& generated, std::int64_t k = 3) {
  check(real.rank() == 2 && generated.rank() == 2 && real.dim(1) == generated.dim(1), "knn_precision_recall",
        "features must be [N, F] and [M, F] with the same F, got ", real.shape().str(), " and ",
        generated.shape().str());
  check(k >= 1 && real.dim(0) > k && generated.dim(0) > k, "knn_precision_recall", "k = ", k,
        " needs more than k samples in each set, got ", real.dim(0), " real and ", generated.dim(0), " generated");
  using namespace precision_recall_detail;
  return {coverage(generated, real, knn_radii(real, k)), coverage(real, generated, knn_radii(generated, k))};
}

}  // namespace patchzoo::eval
