#pragma once
// The exponential mechanism over the whole Pareto front (PSML, arXiv 2307.01292): model m is served with
// probability proportional to exp(epsilon * u(m) / (2 * sensitivity)), u the configured utility score.
// Every front model keeps a non-zero chance, so no request pins one model; as epsilon / sensitivity
// grows the choice concentrates on the best-scoring, i.e. feasible, models. Like the paper's code it
// always answers, also a request no model meets (then with the closest models, by score).
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "patchzoo/core/error.hpp"
#include "patchzoo/psml/defense_config.hpp"
#include "patchzoo/psml/random_draws.hpp"
#include "patchzoo/psml/selection_mechanism.hpp"
#include "patchzoo/psml/utility_score.hpp"

namespace patchzoo::psml {

class exponential_mechanism final : public selection_mechanism {
 public:
  explicit exponential_mechanism(defense_config config) : config_(config) { validate(config_); }

  std::string name() const override { return "exponential"; }
  const defense_config& config() const { return config_; }

  // The exact serving probability of each front model, in front order. The best score is subtracted
  // before exp so a huge epsilon gives 0 and 1 weights instead of overflowing.
  std::vector<double> probabilities(const service_request& request, const std::vector<candidate>& front) const {
    check(!front.empty(), "exponential_mechanism", "the front is empty");
    const std::vector<double> u = utilities(config_, request, front);
    const double best = *std::max_element(u.begin(), u.end());
    const double rate = config_.epsilon / (2.0 * config_.sensitivity);
    std::vector<double> p(u.size());
    double total = 0.0;
    for (std::size_t i = 0; i < u.size(); ++i) total += p[i] = u[i] == best ? 1.0 : std::exp(rate * (u[i] - best));
    for (double& x : p) x /= total;
    return p;
  }

  selection select(const service_request& request, const std::vector<candidate>& front, rng_stream& rng) const override {
    const std::vector<double> p = probabilities(request, front);
    const double target = open_uniform(rng);
    double cumulative = 0.0;
    std::size_t chosen = 0;
    for (std::size_t i = 0; i < p.size(); ++i) {
      if (p[i] == 0.0) continue;
      chosen = i;  // the last model with weight, should rounding leave target above the final sum
      cumulative += p[i];
      if (target < cumulative) break;
    }
    return {selection_status::selected, front[chosen].model_index};
  }

 private:
  defense_config config_;
};

}  // namespace patchzoo::psml
