#pragma once
// The Gaussian fit of a feature set that FID compares: the mean and the (unbiased, N - 1) covariance,
// accumulated in double whatever the feature type.
#include <cstdint>
#include <vector>

#include "patchzoo/core/error.hpp"
#include "patchzoo/core/tensor.hpp"

namespace patchzoo::eval {

struct feature_statistics {
  std::int64_t count = 0;          // samples the fit was made from
  std::int64_t dim = 0;            // feature dimension F
  std::vector<double> mean;        // [F]
  std::vector<double> covariance;  // [F, F], row-major, symmetric
};

// features: [N, F] with N >= 2.
template <class T>
feature_statistics compute_feature_statistics(const tensor<T>& features) {
  check(features.rank() == 2, "compute_feature_statistics", "features must be [N, F], got ", features.shape().str());
  const std::int64_t n = features.dim(0), f = features.dim(1);
  check(n >= 2 && f >= 1, "compute_feature_statistics", "need at least 2 samples of at least 1 feature, got ",
        features.shape().str());
  feature_statistics s{n, f, std::vector<double>(static_cast<std::size_t>(f), 0.0),
                       std::vector<double>(static_cast<std::size_t>(f * f), 0.0)};
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < f; ++j) s.mean[j] += static_cast<double>(features[i * f + j]);
  for (auto& m : s.mean) m /= static_cast<double>(n);
  // Centred two-pass sums: one pass of raw second moments loses digits when means are large.
  std::vector<double> centred(static_cast<std::size_t>(f));
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < f; ++j) centred[j] = static_cast<double>(features[i * f + j]) - s.mean[j];
    for (std::int64_t a = 0; a < f; ++a) {
      const double ca = centred[a];
      double* row = s.covariance.data() + a * f;
      for (std::int64_t b = 0; b <= a; ++b) row[b] += ca * centred[b];
    }
  }
  const double scale = 1.0 / static_cast<double>(n - 1);
  for (std::int64_t a = 0; a < f; ++a)
    for (std::int64_t b = 0; b <= a; ++b) {
      const double v = s.covariance[a * f + b] * scale;
      s.covariance[a * f + b] = v;
      s.covariance[b * f + a] = v;
    }
  return s;
}

}  // namespace patchzoo::eval
