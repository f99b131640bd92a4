#pragma once
// What a client asks of a model-less server (an accuracy floor and a latency ceiling, either optional)
// and the view of one front model that selection works on.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "patchzoo/core/error.hpp"

namespace patchzoo::psml {

struct service_request {
  std::optional<double> min_accuracy;    // top-1 accuracy in [0, 1]
  std::optional<double> max_latency_ms;  // profiled latency ceiling, > 0
};

inline void check_service_request(const service_request& r) {
  if (r.min_accuracy)
    check(std::isfinite(*r.min_accuracy) && *r.min_accuracy >= 0.0 && *r.min_accuracy <= 1.0, "service_request",
          "min_accuracy must be in [0, 1], got ", *r.min_accuracy);
  if (r.max_latency_ms)
    check(std::isfinite(*r.max_latency_ms) && *r.max_latency_ms > 0.0, "service_request",
          "max_latency_ms must be a finite number > 0, got ", *r.max_latency_ms);
}

// One model on the Pareto front, as selection sees it: its profile point and the server's state for it.
struct candidate {
  std::size_t model_index = 0;  // index into the zoo's profiles
  double accuracy = 0.0;
  double latency_ms = 0.0;      // the router's configured latency metric
  bool loaded = false;          // recently used, i.e. warm in an INFaaS-like server
  std::uint64_t last_used = 0;  // router request number of its last selection; 0 = never
};

inline bool meets(const candidate& c, const service_request& r) {
  return (!r.min_accuracy || c.accuracy >= *r.min_accuracy) && (!r.max_latency_ms || c.latency_ms <= *r.max_latency_ms);
}

// F(A, L): the candidates that satisfy the request, in the order given (latency order on the front).
inline std::vector<candidate> feasible_candidates(const service_request& r, const std::vector<candidate>& front) {
  std::vector<candidate> out;
  for (const candidate& c : front)
    if (meets(c, r)) out.push_back(c);
  return out;
}

}  // namespace patchzoo::psml
