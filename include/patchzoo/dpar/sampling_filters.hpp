#pragma once
// One sampling step on the host, as DPAR and LlamaGen sample: classifier-free guidance l_u + s (l_c - l_u),
// temperature, top-k and top-p (nucleus) filtering as LlamaGen's top_k_top_p_filtering, and a multinomial
// draw from one uniform number. top_k = 0 and top_p >= 1 switch their filter off. batch_token_sampler runs
// all of a step's images in one call with buffers kept between steps.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include "patchzoo/core/error.hpp"
#include "patchzoo/core/rng.hpp"

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
inline void guided_logits_into(const float* cond, const float* uncond, std::int64_t vocab, double scale, std::vector<double>& out) {
  out.resize(static_cast<std::size_t>(vocab));
  for (std::int64_t c = 0; c < vocab; ++c) {
    const double lc = cond[c];
    out[static_cast<std::size_t>(c)] = uncond ? uncond[c] + scale * (lc - uncond[c]) : lc;
  }
}

inline std::vector<double> guided_logits(const float* cond, const float* uncond, std::int64_t vocab, double scale) {
  std::vector<double> out;
  guided_logits_into(cond, uncond, vocab, scale, out);
  return out;
}

// Scratch of the filters, kept between rows and steps so that a sampling step allocates nothing.
struct sampling_scratch {
  std::vector<double> sorted;
  std::vector<std::size_t> order;
};

// Turns logits (in place) into probabilities after temperature, top-k and top-p; filtered classes get
// exactly 0. The config must have passed check_sampling_config.
inline void logits_to_probabilities(std::vector<double>& p, const sampling_config& c, sampling_scratch& scratch) {
  const auto n = p.size();
  check(n > 0, "sampling_probabilities", "no logits");
  for (auto& l : p) {
    check(std::isfinite(l), "sampling_probabilities", "logit ", l, " is not finite");
    l /= c.temperature;
  }
  constexpr double removed = -std::numeric_limits<double>::infinity();
  if (c.top_k > 0 && static_cast<std::size_t>(c.top_k) < n) {  // keep values >= the k-th largest (ties kept)
    scratch.sorted.assign(p.begin(), p.end());
    std::nth_element(scratch.sorted.begin(), scratch.sorted.begin() + (c.top_k - 1), scratch.sorted.end(), std::greater<>());
    const double kth = scratch.sorted[static_cast<std::size_t>(c.top_k - 1)];
    for (auto& l : p)
      if (l < kth) l = removed;
  }
  const double mx = *std::max_element(p.begin(), p.end());
  double total = 0;
  for (auto& v : p) total += v = std::exp(v - mx);
  for (auto& v : p) v /= total;
  if (c.top_p < 1.0) {  // keep the most likely classes until their mass first exceeds top_p
    scratch.order.resize(n);
    std::iota(scratch.order.begin(), scratch.order.end(), std::size_t{0});
    std::stable_sort(scratch.order.begin(), scratch.order.end(), [&](std::size_t a, std::size_t b) { return p[a] > p[b]; });
    double kept = 0;  // mass of the classes kept so far, in decreasing order
    for (const auto i : scratch.order) {
      if (kept > c.top_p) p[i] = 0;
      else kept += p[i];
    }
    for (auto& v : p) v /= kept;
  }
}

inline std::vector<double> sampling_probabilities(std::vector<double> logits, const sampling_config& c) {
  check_sampling_config(c);
  sampling_scratch scratch;
  logits_to_probabilities(logits, c, scratch);
  return logits;
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

// Uniform number of image i's draw at step t: its own stream per image and seed, so the same seed gives
// the same samples whatever the batch.
inline double draw_uniform(std::uint64_t seed, std::int64_t image, std::int64_t step) {
  return uniform01(seed * 0x9E3779B97F4A7C15ull + static_cast<std::uint64_t>(image), static_cast<std::uint64_t>(step));
}

// Guides, filters and draws one position of every image in one call, reusing its buffers between steps.
class batch_token_sampler {
 public:
  batch_token_sampler(const sampling_config& c, std::int64_t vocab) : config_(c), vocab_(vocab) {
    check_sampling_config(c);
    check(vocab >= 1, "batch_token_sampler", "vocab ", vocab, " must be >= 1");
    probabilities_.reserve(static_cast<std::size_t>(vocab));
  }

  // cond (and uncond when guided) hold `images` rows of `stride` >= vocab logits; classes from vocab on
  // are never drawn. Returns image i's token in tokens[i] (resized to `images`); row i draws as image
  // first_image + i (sampling in groups).
  void draw(const float* cond, const float* uncond, std::int64_t stride, std::int64_t images, std::int64_t step,
            std::vector<std::int32_t>& tokens, std::int64_t first_image = 0) {
    check(stride >= vocab_, "batch_token_sampler", "rows of ", stride, " logits are shorter than the vocab ", vocab_);
    tokens.resize(static_cast<std::size_t>(images));
    for (std::int64_t i = 0; i < images; ++i) {
      guided_logits_into(cond + i * stride, uncond ? uncond + i * stride : nullptr, vocab_, config_.cfg_scale, probabilities_);
      logits_to_probabilities(probabilities_, config_, scratch_);
      tokens[static_cast<std::size_t>(i)] = draw_token(probabilities_, draw_uniform(config_.seed, first_image + i, step));
    }
  }

 private:
  sampling_config config_;
  std::int64_t vocab_;
  std::vector<double> probabilities_;
  sampling_scratch scratch_;
};

}  // namespace patchzoo::dpar
