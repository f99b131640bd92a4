#pragma once
// The Pareto front of a model zoo over (accuracy, latency). A rational model-less server only ever
// serves front models: a dominated model is never the better answer to any accuracy/latency request.
#include <algorithm>
#include <cstddef>
#include <numeric>
#include <string_view>
#include <vector>

#include "patchzoo/core/error.hpp"
#include "patchzoo/psml/model_profile.hpp"

namespace patchzoo::psml {

// Which profiled latency the router compares: the median, or the tail a strict client cares about.
enum class latency_metric { p50, p99 };

inline latency_metric parse_latency_metric(std::string_view text) {
  if (text == "p50") return latency_metric::p50;
  if (text == "p99") return latency_metric::p99;
  throw error("latency_metric: expected 'p50' or 'p99', got '" + std::string(text) + "'");
}

inline double latency_of(const model_profile& p, latency_metric metric) {
  return metric == latency_metric::p50 ? p.latency_p50_ms : p.latency_p99_ms;
}

// a dominates b: at least as accurate and at least as fast, strictly better in one of the two.
// Exact duplicates dominate neither way, so both stay on the front.
inline bool dominates(const model_profile& a, const model_profile& b, latency_metric metric) {
  const double la = latency_of(a, metric), lb = latency_of(b, metric);
  return a.accuracy >= b.accuracy && la <= lb && (a.accuracy > b.accuracy || la < lb);
}

// Indices of the undominated profiles, ordered by latency, then accuracy, then index. On the front,
// latency order is also accuracy order, which makes every feasible set a contiguous range.
inline std::vector<std::size_t> pareto_front(const std::vector<model_profile>& profiles, latency_metric metric) {
  std::vector<std::size_t> front;
  for (std::size_t i = 0; i < profiles.size(); ++i) {
    bool dominated = false;
    for (std::size_t j = 0; j < profiles.size() && !dominated; ++j)
      dominated = j != i && dominates(profiles[j], profiles[i], metric);
    if (!dominated) front.push_back(i);
  }
  std::sort(front.begin(), front.end(), [&](std::size_t a, std::size_t b) {
    const double la = latency_of(profiles[a], metric), lb = latency_of(profiles[b], metric);
    if (la != lb) return la < lb;
    if (profiles[a].accuracy != profiles[b].accuracy) return profiles[a].accuracy < profiles[b].accuracy;
    return a < b;
  });
  return front;
}

}  // namespace patchzoo::psml
