#pragma once
// How a plain (undefended) server picks one model out of a non-empty feasible set.
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "patchzoo/core/error.hpp"
#include "patchzoo/core/rng.hpp"
#include "patchzoo/psml/service_request.hpp"

namespace patchzoo::psml {

enum class selection_policy {
  uniform,       // uniform over the feasible set: the client cannot predict which model answers
  min_latency,   // the fastest feasible model
  max_accuracy,  // the most accurate feasible model
  infaas_like    // a loaded (recently used) feasible model if any, then the fastest
};

inline selection_policy parse_selection_policy(std::string_view text) {
  if (text == "uniform") return selection_policy::uniform;
  if (text == "min-latency") return selection_policy::min_latency;
  if (text == "max-accuracy") return selection_policy::max_accuracy;
  if (text == "infaas-like") return selection_policy::infaas_like;
  throw error("selection_policy: expected uniform, min-latency, max-accuracy or infaas-like, got '" +
              std::string(text) + "'");
}

inline const char* policy_name(selection_policy p) {
  switch (p) {
    case selection_policy::uniform: return "uniform";
    case selection_policy::min_latency: return "min-latency";
    case selection_policy::max_accuracy: return "max-accuracy";
    case selection_policy::infaas_like: return "infaas-like";
  }
  return "unknown";
}

namespace policy_detail {
// Ties broken by the other metric, then by zoo index, so deterministic policies are total orders.
inline bool faster(const candidate& a, const candidate& b) {
  if (a.latency_ms != b.latency_ms) return a.latency_ms < b.latency_ms;
  if (a.accuracy != b.accuracy) return a.accuracy > b.accuracy;
  return a.model_index < b.model_index;
}
inline bool more_accurate(const candidate& a, const candidate& b) {
  if (a.accuracy != b.accuracy) return a.accuracy > b.accuracy;
  if (a.latency_ms != b.latency_ms) return a.latency_ms < b.latency_ms;
  return a.model_index < b.model_index;
}
}  // namespace policy_detail

// The chosen candidate's position in `feasible` (which must not be empty). Uniform draws once from rng.
inline std::size_t apply_policy(selection_policy policy, const std::vector<candidate>& feasible, rng_stream& rng) {
  check(!feasible.empty(), "apply_policy", "the feasible set is empty");
  auto position = [&](auto it) { return static_cast<std::size_t>(it - feasible.begin()); };
  switch (policy) {
    case selection_policy::uniform: return static_cast<std::size_t>(rng.below(feasible.size()));
    case selection_policy::min_latency:
      return position(std::min_element(feasible.begin(), feasible.end(), policy_detail::faster));
    case selection_policy::max_accuracy:
      return position(std::min_element(feasible.begin(), feasible.end(), policy_detail::more_accurate));
    case selection_policy::infaas_like: {
      auto best = feasible.end();
      for (auto it = feasible.begin(); it != feasible.end(); ++it)
        if (it->loaded && (best == feasible.end() || policy_detail::faster(*it, *best))) best = it;
      if (best != feasible.end()) return position(best);
      return position(std::min_element(feasible.begin(), feasible.end(), policy_detail::faster));
    }
  }
  throw error("apply_policy: unknown policy");
}

}  // namespace patchzoo::psml
