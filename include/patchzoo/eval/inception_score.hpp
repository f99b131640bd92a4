#pragma once
// The Inception Score with a classifier in place of Inception: IS = exp(E_x KL(p(y|x) || p(y))), p(y)
// the mean prediction over the set. 1 when every image gets the same prediction, at most the class
// count when predictions are confident and the classes are used evenly.
#include <cmath>
#include <cstdint>
#include <vector>

#include "patchzoo/core/error.hpp"
#include "patchzoo/core/tensor.hpp"

namespace patchzoo::eval {

struct inception_score_result {
  double mean = 0;  // over the splits
  double std = 0;   // population standard deviation over the splits (0 for one split)
  std::int64_t splits = 1;
};

// probabilities: [N, C] rows summing to 1. The set is cut into `splits` consecutive parts of equal
// size (the last N mod splits rows are dropped), as the usual IS protocol does.
template <class T>
inception_score_result inception_score(const tensor<T>& probabilities, std::int64_t splits = 1) {
  check(probabilities.rank() == 2, "inception_score", "probabilities must be [N, C], got ",
        probabilities.shape().str());
  const std::int64_t n = probabilities.dim(0), c = probabilities.dim(1);
  check(splits >= 1 && n >= splits && c >= 1, "inception_score", "need at least ", splits, " rows for ", splits,
        " splits and at least one class, got ", probabilities.shape().str());
  for (std::int64_t i = 0; i < n * c; ++i)
    check(probabilities[i] >= 0 && std::isfinite(static_cast<double>(probabilities[i])), "inception_score",
          "probabilities must be finite and non-negative (row ", i / c, ")");
  const std::int64_t part = n / splits;
  std::vector<double> scores;
  for (std::int64_t s = 0; s < splits; ++s) {
    std::vector<double> marginal(static_cast<std::size_t>(c), 0.0);
    for (std::int64_t i = s * part; i < (s + 1) * part; ++i)
      for (std::int64_t k = 0; k < c; ++k) marginal[k] += static_cast<double>(probabilities[i * c + k]);
    for (auto& m : marginal) m /= static_cast<double>(part);
    double kl = 0;
    for (std::int64_t i = s * part; i < (s + 1) * part; ++i)
      for (std::int64_t k = 0; k < c; ++k) {
        const double p = static_cast<double>(probabilities[i * c + k]);
        if (p > 0) kl += p * (std::log(p) - std::log(marginal[k]));  // p log p -> 0 as p -> 0
      }
    scores.push_back(std::exp(kl / static_cast<double>(part)));
  }
  inception_score_result r;
  r.splits = splits;
  for (const double v : scores) r.mean += v / static_cast<double>(splits);
  for (const double v : scores) r.std += (v - r.mean) * (v - r.mean) / static_cast<double>(splits);
  r.std = std::sqrt(r.std);
  return r;
}

}  // namespace patchzoo::eval
