#pragma once
// Noisy specification (PSML): add Laplace or Gaussian noise to the requested accuracy floor and
// latency ceiling, then run the plain policy on the noisy request, so one request no longer maps to a
// fixed feasible set. With never_looser the noise may only tighten a bound (A' = max(A, A + n_A),
// L' = min(L, L + n_L)), so the served model always meets the client's own request. A bound the client
// left out stays out. When the noisy request has no feasible model the plain request is served instead:
// noise must never refuse a client that a plain server would answer.
#include <algorithm>
#include <string>
#include <vector>

#include "patchzoo/psml/defense_config.hpp"
#include "patchzoo/psml/random_draws.hpp"
#include "patchzoo/psml/selection_mechanism.hpp"
#include "patchzoo/psml/selection_policy.hpp"

namespace patchzoo::psml {

class noisy_spec_mechanism final : public selection_mechanism {
 public:
  noisy_spec_mechanism(defense_config config, selection_policy policy) : config_(config), policy_(policy) {
    validate(config_);
  }

  std::string name() const override { return "noisy-spec"; }
  const defense_config& config() const { return config_; }

  // The perturbed request; draws two noise values whether or not the client gave both bounds, so the
  // stream position after it does not depend on the request's form.
  service_request perturb(const service_request& request, rng_stream& rng) const {
    const double accuracy_noise = draw(rng, config_.accuracy_noise);
    const double latency_noise = draw(rng, config_.latency_noise_ms);
    service_request noisy;
    if (request.min_accuracy) {
      const double a = *request.min_accuracy + accuracy_noise;
      noisy.min_accuracy = config_.never_looser ? std::max(*request.min_accuracy, a) : a;
    }
    if (request.max_latency_ms) {
      const double l = *request.max_latency_ms + latency_noise;
      noisy.max_latency_ms = config_.never_looser ? std::min(*request.max_latency_ms, l) : l;
    }
    return noisy;
  }

  selection select(const service_request& request, const std::vector<candidate>& front, rng_stream& rng) const override {
    std::vector<candidate> feasible = feasible_candidates(perturb(request, rng), front);
    if (feasible.empty()) feasible = feasible_candidates(request, front);
    if (feasible.empty()) return {selection_status::infeasible, 0};
    return {selection_status::selected, feasible[apply_policy(policy_, feasible, rng)].model_index};
  }

 private:
  double draw(rng_stream& rng, double scale) const {
    return config_.noise == noise_distribution::laplace ? laplace_noise(rng, scale) : gaussian_noise(rng, scale);
  }

  defense_config config_;
  selection_policy policy_;
};

}  // namespace patchzoo::psml
