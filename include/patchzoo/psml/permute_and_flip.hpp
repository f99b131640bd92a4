#pragma once
// Permute-and-flip (McKenna & Sheldon 2020) over the whole Pareto front, as in the PSML code
// (arXiv 2307.01292): visit the front in a uniformly random order and serve the first model accepted by a
// coin of probability exp(epsilon * (u(m) - 1) / (2 * sensitivity)). The "1" is the best possible
// score, reached exactly by the feasible models, so a feasible model is always accepted once reached
// and the walk can end with no model only when no model meets the request; that request is refused.
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "patchzoo/core/error.hpp"
#include "patchzoo/psml/defense_config.hpp"
#include "patchzoo/psml/random_draws.hpp"
#include "patchzoo/psml/selection_mechanism.hpp"
#include "patchzoo/psml/utility_score.hpp"

namespace patchzoo::psml {

class permute_and_flip_mechanism final : public selection_mechanism {
 public:
  explicit permute_and_flip_mechanism(defense_config config) : config_(config) { validate(config_); }

  std::string name() const override { return "permute-and-flip"; }
  const defense_config& config() const { return config_; }

  // Each front model's coin probability, in front order.
  std::vector<double> acceptance(const service_request& request, const std::vector<candidate>& front) const {
    const double rate = config_.epsilon / (2.0 * config_.sensitivity);
    std::vector<double> a;
    for (double u : utilities(config_, request, front)) a.push_back(u >= 1.0 ? 1.0 : std::exp(rate * (u - 1.0)));
    return a;
  }

  // The exact serving probability of each front model (front order; the rest to 1 is "refused").
  // Model i sits at a uniform position k and its k predecessors are a uniform k-subset S of the others,
  // so P(i) = a_i * (1/n) * sum_k e_k(1 - a_others) / C(n-1, k), e_k the elementary symmetric polynomials.
  std::vector<double> probabilities(const service_request& request, const std::vector<candidate>& front) const {
    const std::vector<double> a = acceptance(request, front);
    const std::size_t n = a.size();
    std::vector<double> p(n, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
      std::vector<double> e(n, 0.0);  // e[k] over the models other than i
      e[0] = 1.0;
      std::size_t used = 0;
      for (std::size_t j = 0; j < n; ++j) {
        if (j == i) continue;
        ++used;
        for (std::size_t k = used; k >= 1; --k) e[k] += e[k - 1] * (1.0 - a[j]);
      }
      double binomial = 1.0, sum = 0.0;  // C(n-1, k), updated along k
      for (std::size_t k = 0; k < n; ++k) {
        sum += e[k] / binomial;
        binomial = binomial * static_cast<double>(n - 1 - k) / static_cast<double>(k + 1);
      }
      p[i] = a[i] * sum / static_cast<double>(n);
    }
    return p;
  }

  selection select(const service_request& request, const std::vector<candidate>& front, rng_stream& rng) const override {
    const std::vector<double> a = acceptance(request, front);
    std::vector<std::size_t> order(front.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);  // Fisher-Yates
    for (std::size_t i : order)
      if (a[i] >= 1.0 || open_uniform(rng) < a[i]) return {selection_status::selected, front[i].model_index};
    return {selection_status::infeasible, 0};
  }

 private:
  defense_config config_;
};

}  // namespace patchzoo::psml
