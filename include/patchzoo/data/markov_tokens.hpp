#pragma once
// A synthetic token source with a known answer: a seeded first-order Markov chain in which every
// token has a few likely successors. Its entropy rate is the lowest mean next-token loss any model can
// reach, so a training run can be judged against a floor rather than by eye.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "patchzoo/core/rng.hpp"
#include "patchzoo/nn/token_batch.hpp"

namespace patchzoo::data {

class markov_tokens {
 public:
  markov_tokens(std::int32_t vocab, int successors, std::uint64_t seed) : vocab_(vocab), next_(vocab) {
    check(vocab >= 2 && successors >= 1 && successors <= vocab, "markov_tokens", "vocab ", vocab,
          " and successors ", successors, " are invalid");
    rng_stream r(seed);
    for (std::int32_t s = 0; s < vocab; ++s) {
      double total = 0.0;
      for (int k = 0; k < successors; ++k) {
        const double w = -std::log(1.0 - r.uniform());  // exponential weights give a Dirichlet(1) draw
        next_[s].push_back({static_cast<std::int32_t>(r.below(vocab)), w});
        total += w;
      }
      for (auto& e : next_[s]) e.p /= total;
    }
  }

  // Mean next-token entropy in nats under the chain's stationary distribution.
  double entropy_rate() const {
    std::vector<double> pi(vocab_, 1.0 / vocab_), nxt(vocab_);
    for (int it = 0; it < 500; ++it) {
      std::fill(nxt.begin(), nxt.end(), 0.0);
      for (std::int32_t s = 0; s < vocab_; ++s)
        for (const auto& e : next_[s]) nxt[e.token] += pi[s] * e.p;
      pi.swap(nxt);
    }
    double h = 0.0;
    for (std::int32_t s = 0; s < vocab_; ++s) h += pi[s] * conditional_entropy(s);
    return h;
  }

  // S sequences of length len, packed; the first token is uniform, targets are the next tokens.
  nn::token_batch batch(std::int64_t sequences, std::int64_t len, rng_stream& r) const {
    const std::int64_t n = sequences * len;
    nn::token_batch b{tensor<std::int32_t>(shape_t{n}), tensor<std::int32_t>(shape_t{n}), {}};
    for (std::int64_t s = 0; s <= sequences; ++s) b.offsets.push_back(static_cast<std::int32_t>(s * len));
    for (std::int64_t s = 0; s < sequences; ++s) {
      std::int32_t tok = static_cast<std::int32_t>(r.below(vocab_));
      for (std::int64_t i = 0; i < len; ++i) {
        const std::int32_t nxt = sample_next(tok, r);
        b.inputs[s * len + i] = tok;
        b.targets[s * len + i] = nxt;
        tok = nxt;
      }
    }
    return b;
  }

  std::int32_t vocab() const { return vocab_; }

 private:
  struct edge {
    std::int32_t token;
    double p;
  };

  double conditional_entropy(std::int32_t s) const {
    std::vector<double> p(vocab_, 0.0);  // successors may repeat: merge them before taking logs
    for (const auto& e : next_[s]) p[e.token] += e.p;
    double h = 0.0;
    for (double q : p)
      if (q > 0) h -= q * std::log(q);
    return h;
  }

  std::int32_t sample_next(std::int32_t s, rng_stream& r) const {
    double u = r.uniform(), acc = 0.0;
    for (const auto& e : next_[s]) {
      acc += e.p;
      if (u < acc) return e.token;
    }
    return next_[s].back().token;
  }

  std::int32_t vocab_;
  std::vector<std::vector<edge>> next_;
};

}  // namespace patchzoo::data
