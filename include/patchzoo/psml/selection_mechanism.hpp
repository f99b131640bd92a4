#pragma once
// The seam between the router and how a model is finally chosen. A mechanism sees the request and the
// whole Pareto front (defenses such as the exponential mechanism score every front model, not only the
// feasible ones) and returns one front model or an explicit "infeasible". Mechanisms are chosen by
// server configuration only; nothing a client sends can pick or parameterise one.
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "patchzoo/core/rng.hpp"
#include "patchzoo/psml/selection_policy.hpp"
#include "patchzoo/psml/service_request.hpp"

namespace patchzoo::psml {

enum class selection_status { selected, infeasible };

struct selection {
  selection_status status = selection_status::infeasible;
  std::size_t model_index = 0;  // valid when status == selected
};

class selection_mechanism {
 public:
  virtual ~selection_mechanism() = default;
  virtual std::string name() const = 0;
  // `front` is in latency order; rng is this request's private stream.
  virtual selection select(const service_request& request, const std::vector<candidate>& front,
                           rng_stream& rng) const = 0;
};

// No defense: the plain policy over F(A, L); an empty F is reported, never replaced by another model.
class plain_policy_mechanism final : public selection_mechanism {
 public:
  explicit plain_policy_mechanism(selection_policy policy) : policy_(policy) {}
  std::string name() const override { return "none"; }
  selection select(const service_request& request, const std::vector<candidate>& front,
                   rng_stream& rng) const override {
    const std::vector<candidate> feasible = feasible_candidates(request, front);
    if (feasible.empty()) return {selection_status::infeasible, 0};
    return {selection_status::selected, feasible[apply_policy(policy_, feasible, rng)].model_index};
  }

 private:
  selection_policy policy_;
};

}  // namespace patchzoo::psml
