#pragma once
// How well serving one front model answers a request (as in the PSML code), the quantity the exponential
// mechanism and permute-and-flip rank by. Every score is 1 exactly on the feasible models and below 1
// elsewhere, so a mechanism that concentrates on the best score serves a feasible model when one exists.
//   l1       (1 - max(A - a, 0)/s_A)/2 + (1 - max(l - L, 0)/s_L)/2, with s_A = 1 (100 points), s_L = 100 ms
//   goodput  1 if the model meets the request, else 0
//   quantile l1 with the scales s_A, s_L replaced by the medians of the front's accuracies and latencies,
//            so the score does not depend on the zoo's units (sub-millisecond Fashion-MNIST latencies)
// An absent bound costs nothing: a request without a latency ceiling has no latency excess.
#include <algorithm>
#include <vector>

#include "patchzoo/core/error.hpp"
#include "patchzoo/psml/defense_config.hpp"
#include "patchzoo/psml/service_request.hpp"

namespace patchzoo::psml {

// The shortfall (accuracy) and excess (latency) that each cost a whole half of the l1 score.
struct metric_scales {
  double accuracy = 1.0;
  double latency_ms = 100.0;
};

inline double median(std::vector<double> values) {
  check(!values.empty(), "median", "no values");
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

inline metric_scales scales_for(const defense_config& config, const std::vector<candidate>& front) {
  if (config.score != utility_score::quantile) return {config.accuracy_scale, config.latency_scale_ms};
  std::vector<double> accuracies, latencies;
  for (const candidate& c : front) {
    accuracies.push_back(c.accuracy);
    latencies.push_back(c.latency_ms);
  }
  metric_scales s{median(accuracies), median(latencies)};
  check(s.accuracy > 0.0 && s.latency_ms > 0.0, "utility_score", "quantile score needs positive front medians, got accuracy ",
        s.accuracy, " and latency ", s.latency_ms, " ms");
  return s;
}

inline double l1_score(const candidate& c, const service_request& r, const metric_scales& s) {
  const double shortfall = r.min_accuracy ? std::max(*r.min_accuracy - c.accuracy, 0.0) : 0.0;
  const double excess = r.max_latency_ms ? std::max(c.latency_ms - *r.max_latency_ms, 0.0) : 0.0;
  return 0.5 * (1.0 - shortfall / s.accuracy) + 0.5 * (1.0 - excess / s.latency_ms);
}

inline double utility(utility_score score, const candidate& c, const service_request& r, const metric_scales& s) {
  if (score == utility_score::goodput) return meets(c, r) ? 1.0 : 0.0;
  return l1_score(c, r, s);
}

// The score of every front model, in front order.
inline std::vector<double> utilities(const defense_config& config, const service_request& r,
                                     const std::vector<candidate>& front) {
  const metric_scales s = scales_for(config, front);
  std::vector<double> out;
  out.reserve(front.size());
  for (const candidate& c : front) out.push_back(utility(config.score, c, r, s));
  return out;
}

}  // namespace patchzoo::psml
