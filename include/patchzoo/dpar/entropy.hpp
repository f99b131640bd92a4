#pragma once
// Next-token entropy H = -sum_c p_c ln p_c (nats) of each row of a [rows, vocab] matrix of logits or
// probabilities. DPAR's patcher thresholds these values, so they are computed in double: a float
// log-softmax over 16384 classes would move H by more than the 0.1-nat threshold steps of the ablations.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <type_traits>

#include "patchzoo/core/error.hpp"
#include "patchzoo/core/tensor_view.hpp"

namespace patchzoo::dpar {

// What the rows given to next_token_entropy hold.
enum class entropy_input { logits, probabilities };

// out[r] = H of row r of scores [rows, vocab], both in host memory.
// Logits: H = logsumexp(z) - sum_c softmax(z)_c z_c, with the max subtracted first (stable for any scale).
// Probabilities: rows must be non-negative and sum to 1 within 1e-3; 0 ln 0 counts as 0.
template <class T>
void next_token_entropy(const_view<T> scores, std::type_identity_t<std::span<T>> out, entropy_input input) {
  constexpr const char* op = "next_token_entropy";
  expect_rank(op, "scores", scores, 2);
  expect_contiguous(op, "scores", scores);
  const std::int64_t rows = scores.dim(0), vocab = scores.dim(1);
  check(vocab >= 1, op, "vocab ", vocab, " must be at least 1");
  check(static_cast<std::int64_t>(out.size()) == rows, op, "out holds ", out.size(), " values for ", rows, " rows");
  for (std::int64_t r = 0; r < rows; ++r) {
    const T* row = scores.data + r * vocab;
    double entropy = 0.0;
    if (input == entropy_input::probabilities) {
      double total = 0.0;
      for (std::int64_t c = 0; c < vocab; ++c) {
        const double p = static_cast<double>(row[c]);
        check(p >= 0.0 && std::isfinite(p), op, "row ", r, " class ", c, " probability ", p,
              " is not a finite non-negative number");
        total += p;
        if (p > 0.0) entropy -= p * std::log(p);
      }
      check(std::abs(total - 1.0) <= 1e-3, op, "row ", r, " probabilities sum to ", total, ", not 1");
    } else {
      double max_logit = -std::numeric_limits<double>::infinity();
      for (std::int64_t c = 0; c < vocab; ++c) {
        const double z = static_cast<double>(row[c]);
        check(!std::isnan(z) && z != std::numeric_limits<double>::infinity(), op, "row ", r, " class ", c, " logit ", z,
              " is NaN or +inf");
        max_logit = std::max(max_logit, z);
      }
      check(std::isfinite(max_logit), op, "row ", r, " has no finite logit");
      double sum_exp = 0.0, sum_exp_z = 0.0;
      for (std::int64_t c = 0; c < vocab; ++c) {
        const double shifted = static_cast<double>(row[c]) - max_logit;
        const double e = std::exp(shifted);
        sum_exp += e;
        if (e > 0.0) sum_exp_z += e * shifted;  // a -inf logit contributes 0 ln 0 = 0
      }
      entropy = std::log(sum_exp) - sum_exp_z / sum_exp;
    }
    out[static_cast<std::size_t>(r)] = static_cast<T>(std::max(entropy, 0.0));
  }
}

// One image's entropies indexed by the token they are about: by_token[t] = H_t = H(p(x_t | x_<t)), where
// row r of `logits` predicts token r + first_predicted_token. The entropy model reads x_0..x_{T-2}, so its
// row i predicts x_{i+1} (first_predicted_token 1, llamagen_config::first_predicted_token()); tokens before
// the first prediction get 0.
template <class T>
void entropies_by_predicted_token(const_view<T> logits, std::int64_t first_predicted_token,
                                  std::type_identity_t<std::span<T>> by_token) {
  constexpr const char* op = "entropies_by_predicted_token";
  expect_rank(op, "logits", logits, 2);
  check(first_predicted_token >= 0, op, "first_predicted_token ", first_predicted_token, " must be non-negative");
  check(static_cast<std::int64_t>(by_token.size()) == first_predicted_token + logits.dim(0), op, "by_token holds ",
        by_token.size(), " values, but ", logits.dim(0), " predictions from token ", first_predicted_token, " need ",
        first_predicted_token + logits.dim(0));
  const auto first = static_cast<std::size_t>(first_predicted_token);
  std::fill(by_token.begin(), by_token.begin() + static_cast<std::ptrdiff_t>(first), T(0));
  next_token_entropy(logits, by_token.subspan(first), entropy_input::logits);
}

}  // namespace patchzoo::dpar
