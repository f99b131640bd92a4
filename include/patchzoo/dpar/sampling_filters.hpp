#pragma once
// One sampling step on the host (digest 1.9, 1.11, 2.4): classifier-free guidance l_u + s (l_c - l_u),
// temperature, top-k and top-p (nucleus) filtering as LlamaGen's top_k_top_p_filtering, and a multinomial
// draw from one uniform number. top_k = 0 and top_p >= 1 switch their filter off.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include "patchzoo/core/error.hpp"

namespace patchzoo::dpar {

struct sampling_config {
  double cfg_scale = 2.0;  // 1: no guidance (the null-class half is not run)
  double temperature = 1.0;
  std::int64_t top_k = 0;  // 0: off
  double top_p = 1.0;      // >= 1: off
  std::uint64_t seed = 0;
};

inline void check_sampling_config(const sampling_config& c) {
  check(std::isfinite(c.cfg_scale) && c.cfg_scale >= 0, "sampling_config", "cfg scale ", c.cfg_scale,
        " must be a finite number >= 0");
  check(std::isfinite(c.temperature) && c.temperature > 0, "sampling_config", "temperature ", c.temperature,
        " must be positive");
  check(c.top_k >= 0, "sampling_config", "top_k ", c.top_k, " must be >= 0 (0 = off)");
  check(c.top_p > 0 && c.top_p <= 1, "sampling_config", "top_p ", c.top_p, " must be in (0, 1]");
}

// Guided logits; without an unconditional row (uncond == nullptr) the conditional logits unchanged.
inline std::vector<double> guided_logits(const float* cond, const float* uncond, std::int64_t vocab, double scale) {
  std::vector<double> out(static_cast<std::size_t>(vocab));
  for (std::int64_t c = 0; c < vocab; ++c) {
    const double lc = cond[c];
    out[static_cast<std::size_t>(c)] = uncond ? uncond[c] + scale * (lc - uncond[c]) : lc;
  }
  return out;
}

// Probabilities after temperature, top-k and top-p; filtered classes get exactly 0.
inline std::vector<double> sampling_probabilities(std::vector<double> logits, const sampling_config& c) {
  check_sampling_config(c);
  const auto n = logits.size();
  check(n > 0, "sampling_probabilities", "no logits");
  for (auto& l : logits) {
    check(std::isfinite(l), "sampling_probabilities", "logit ", l, " is not finite");
    l /= c.temperature;
  }
  constexpr double removed = -std::numeric_limits<double>::infinity();
  if (c.top_k > 0 && static_cast<std::size_t>(c.top_k) < n) {  // keep values >= the k-th largest (ties kept)
    std::vector<double> sorted = logits;
    std::nth_element(sorted.begin(), sorted.begin() + (c.top_k - 1), sorted.end(), std::greater<>());
    const double kth = sorted[static_cast<std::size_t>(c.top_k - 1)];
    for (auto& l : logits)
      if (l < kth) l = removed;
  }
  const double mx = *std::max_element(logits.begin(), logits.end());
  std::vector<double> p(n);
  double total = 0;
  for (std::size_t i = 0; i < n; ++i) total += p[i] = std::exp(logits[i] - mx);
  for (auto& v : p) v /= total;
  if (c.top_p < 1.0) {  // keep the most likely classes until their mass first exceeds top_p
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return p[a] > p[b]; });
    double kept = 0;  // mass of the classes kept so far, in decreasing order
    for (const auto i : order) {
      if (kept > c.top_p) p[i] = 0;
      else kept += p[i];
    }
    for (auto& v : p) v /= kept;
  }
  return p;
}

// Inverse-CDF draw with u in [0, 1); never returns a class of probability 0.
inline std::int32_t draw_token(const std::vector<double>& probs, double u) {
  double cum = 0;
  std::int32_t last = -1;
  for (std::size_t i = 0; i < probs.size(); ++i) {
    if (probs[i] <= 0) continue;
    last = static_cast<std::int32_t>(i);
    cum += probs[i];
    if (u < cum) return last;
  }
  check(last >= 0, "draw_token", "every class has probability 0");
  return last;  // rounding left cum slightly below 1
}

}  // namespace patchzoo::dpar
