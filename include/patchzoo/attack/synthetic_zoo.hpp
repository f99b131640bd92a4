#pragma once
// A stand-in zoo for fingerprinting tests and the query-cost experiment: k hand-set profiles on a Pareto
// front (accuracy and latency both increasing, with seeded uneven gaps) plus optional dominated models,
// each served by its own seeded linear softmax classifier, so every model answers differently.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "patchzoo/core/error.hpp"
#include "patchzoo/core/rng.hpp"
#include "patchzoo/serve/model_executor.hpp"

namespace patchzoo::attack {

struct synthetic_zoo_config {
  std::size_t front_models = 5;
  std::size_t dominated_models = 1;
  double accuracy_lo = 0.70, accuracy_hi = 0.95;  // the front spans this accuracy range
  double latency_lo_ms = 0.003, latency_hi_ms = 5.0;  // and this latency range (log-spaced)
  std::uint64_t seed = 0;
};

// Front models get ids f0 (fastest) .. f{k-1}; dominated ones d0, ... (slower and less accurate than f{k-1}).
inline std::vector<psml::model_profile> synthetic_profiles(const synthetic_zoo_config& c) {
  check(c.front_models >= 1, "synthetic_profiles", "needs at least one front model");
  check(c.accuracy_lo > 0.0 && c.accuracy_lo < c.accuracy_hi && c.accuracy_hi <= 1.0 && c.latency_lo_ms > 0.0 &&
            c.latency_lo_ms < c.latency_hi_ms,
        "synthetic_profiles", "ranges must satisfy 0 < accuracy_lo < accuracy_hi <= 1 and 0 < latency_lo < latency_hi");
  const std::size_t k = c.front_models;
  // Gaps drawn in [0.5, 1.5) of the mean, then scaled to the range: uneven, never closer than a third of the mean.
  auto positions = [&](std::uint64_t stream) {
    std::vector<double> cumulative{0.0};
    for (std::size_t i = 1; i < k; ++i) cumulative.push_back(cumulative.back() + 0.5 + uniform01(c.seed * 7 + stream, i));
    for (double& v : cumulative) v = k == 1 ? 0.0 : v / cumulative.back();
    return cumulative;
  };
  const std::vector<double> acc = positions(1), lat = positions(2);
  std::vector<psml::model_profile> out;
  for (std::size_t i = 0; i < k; ++i) {
    const double a = c.accuracy_lo + (c.accuracy_hi - c.accuracy_lo) * acc[i];
    const double l = c.latency_lo_ms * std::pow(c.latency_hi_ms / c.latency_lo_ms, lat[i]);
    out.push_back({"f" + std::to_string(i), "synthetic-front-" + std::to_string(i), a, l, 1.2 * l, 7850, 15680});
  }
  for (std::size_t j = 0; j < c.dominated_models; ++j) {
    const double a = c.accuracy_lo - 0.01 * static_cast<double>(j + 1);
    const double l = c.latency_hi_ms * (1.5 + static_cast<double>(j));
    out.push_back({"d" + std::to_string(j), "synthetic-dominated-" + std::to_string(j), std::max(a, 0.0), l, 1.2 * l,
                   7850, 15680});
  }
  return out;
}

class synthetic_executor final : public serve::model_executor {
 public:
  explicit synthetic_executor(std::vector<psml::model_profile> profiles, std::uint64_t seed = 0)
      : profiles_(std::move(profiles)) {
    weights_.resize(profiles_.size() * 7840);
    for (std::size_t m = 0; m < profiles_.size(); ++m)
      for (std::size_t w = 0; w < 7840; ++w) weights_[m * 7840 + w] = uniform01(1000003 * (seed + 1) + m, w) - 0.5f;
  }

  const std::vector<psml::model_profile>& profiles() const override { return profiles_; }

  tensor<float> predict(std::size_t model, const tensor<float>& images) override {
    check(model < profiles_.size(), "synthetic_executor", "no model ", model, " in a zoo of ", profiles_.size());
    check(images.rank() == 4 && images.dim(1) * images.dim(2) * images.dim(3) == 784, "synthetic_executor",
          "images must be [B, 1, 28, 28], got ", images.shape().str());
    tensor<float> out(shape_t{images.dim(0), 10});
    const float* w = weights_.data() + model * 7840;
    for (std::int64_t b = 0; b < images.dim(0); ++b) {
      const float* x = images.data() + b * 784;
      float* p = out.data() + b * 10;
      for (int c = 0; c < 10; ++c) {
        float z = 0.0f;
        for (int i = 0; i < 784; ++i) z += x[i] * w[c * 784 + i];
        p[c] = 4.0f * z / 28.0f;
      }
      const float top = *std::max_element(p, p + 10);
      float sum = 0.0f;
      for (int c = 0; c < 10; ++c) sum += (p[c] = std::exp(p[c] - top));
      for (int c = 0; c < 10; ++c) p[c] /= sum;
    }
    return out;
  }

 private:
  std::vector<psml::model_profile> profiles_;
  std::vector<float> weights_;  // [models][10][784]
};

}  // namespace patchzoo::attack
