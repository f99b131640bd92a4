#pragma once
// Next-token entropy H = -sum_c p_c ln p_c (nats) of each row of a [rows, vocab] matrix of logits or
// probabilities. DPAR's patcher thresholds these values, so they are computed in double: a float
// log-softmax over 16384 classes would move H by more than the 0.1-nat threshold steps of the ablations.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "patchzoo/core/error.hpp"

namespace patchzoo::dpar {

// Logits: H = logsumexp(z) - sum_c softmax(z)_c z_c, with the max subtracted first (stable for any scale).
// Probabilities: rows must be non-negative and sum to 1 within 1e-3; 0 ln 0 counts as 0.
template <class T>
void next_token_entropy(const T* logits_or_probs, std::int64_t rows, std::int64_t vocab, T* out,
                        bool are_probabilities) {
  check(rows >= 0, "next_token_entropy", "rows ", rows, " must be non-negative");
  check(vocab >= 1, "next_token_entropy", "vocab ", vocab, " must be at least 1");
  check(rows == 0 || (logits_or_probs != nullptr && out != nullptr), "next_token_entropy", "null input or output for ",
        rows, " rows");
  for (std::int64_t r = 0; r < rows; ++r) {
    const T* row = logits_or_probs + r * vocab;
    double entropy = 0.0;
    if (are_probabilities) {
      double total = 0.0;
      for (std::int64_t c = 0; c < vocab; ++c) {
        const double p = static_cast<double>(row[c]);
        check(p >= 0.0 && std::isfinite(p), "next_token_entropy", "row ", r, " class ", c, " probability ", p,
              " is not a finite non-negative number");
        total += p;
        if (p > 0.0) entropy -= p * std::log(p);
      }
      check(std::abs(total - 1.0) <= 1e-3, "next_token_entropy", "row ", r, " probabilities sum to ", total, ", not 1");
    } else {
      double max_logit = -std::numeric_limits<double>::infinity();
      for (std::int64_t c = 0; c < vocab; ++c) {
        const double z = static_cast<double>(row[c]);
        check(!std::isnan(z) && z != std::numeric_limits<double>::infinity(), "next_token_entropy", "row ", r,
              " class ", c, " logit ", z, " is NaN or +inf");
        max_logit = std::max(max_logit, z);
      }
      check(std::isfinite(max_logit), "next_token_entropy", "row ", r, " has no finite logit");
      double sum_exp = 0.0, sum_exp_z = 0.0;
      for (std::int64_t c = 0; c < vocab; ++c) {
        const double shifted = static_cast<double>(row[c]) - max_logit;
        const double e = std::exp(shifted);
        sum_exp += e;
        if (e > 0.0) sum_exp_z += e * shifted;  // a -inf logit contributes 0 ln 0 = 0
      }
      entropy = std::log(sum_exp) - sum_exp_z / sum_exp;
    }
    out[r] = static_cast<T>(std::max(entropy, 0.0));
  }
}

}  // namespace patchzoo::dpar
