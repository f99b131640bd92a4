#pragma once
// The numbers the PSML experiments report (arXiv 2307.01292):
//
//   accuracy(probabilities [N,C], labels [N])           top-1 agreement with the true labels
//   fidelity(surrogate [N,C], victim [N,C])             top-1 agreement with the victim (symmetric)
//   goodput(queries) -> {over_all, over_answered, ...}  share of queries whose served model met the
//                                                       client's original request, over all queries and
//                                                       over answered queries (both denominators of 4.4)
//   l1_utility(request, served), mean_utility(queries)  the router's l1 score (4.2), mean over answered
//   mean_std(values)                                    mean and sample sd over seeds (util/mean_std.hpp)
//
// Top-1 is the first largest entry of a row. Accuracies are fractions in [0, 1] (the PSML code uses
// percent: its a/100 equals our a) and latencies milliseconds.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <vector>

#include "patchzoo/core/error.hpp"
#include "patchzoo/core/tensor.hpp"
#include "patchzoo/psml/service_request.hpp"
#include "patchzoo/util/mean_std.hpp"

namespace patchzoo::attack {

namespace metrics_detail {

inline void check_probability_rows(const char* op, const char* name, const tensor<float>& t) {
  check(t.rank() == 2 && t.dim(0) > 0 && t.dim(1) > 0, op, name, " must be [N, C] with N, C > 0, got ",
        t.shape().str());
}

inline std::int64_t row_top1(const tensor<float>& t, std::int64_t row) {
  const std::int64_t classes = t.dim(1);
  const float* r = t.data() + row * classes;
  return std::max_element(r, r + classes) - r;
}

}  // namespace metrics_detail

inline double accuracy(const tensor<float>& probabilities, const tensor<std::int32_t>& labels) {
  metrics_detail::check_probability_rows("accuracy", "probabilities", probabilities);
  const std::int64_t n = probabilities.dim(0), classes = probabilities.dim(1);
  check(labels.shape() == shape_t{n}, "accuracy", "labels ", labels.shape().str(), " must be [N] with N = ", n,
        " (the rows of probabilities ", probabilities.shape().str(), ")");
  std::int64_t correct = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    check(labels[i] >= 0 && labels[i] < classes, "accuracy", "labels[", i, "] = ", labels[i], " is outside [0, ",
          classes, ")");
    correct += metrics_detail::row_top1(probabilities, i) == labels[i];
  }
  return static_cast<double>(correct) / static_cast<double>(n);
}

inline double fidelity(const tensor<float>& surrogate_probabilities, const tensor<float>& victim_probabilities) {
  metrics_detail::check_probability_rows("fidelity", "surrogate_probabilities", surrogate_probabilities);
  check(victim_probabilities.shape() == surrogate_probabilities.shape(), "fidelity", "victim_probabilities ",
        victim_probabilities.shape().str(), " and surrogate_probabilities ", surrogate_probabilities.shape().str(),
        " must have the same shape");
  const std::int64_t n = surrogate_probabilities.dim(0);
  std::int64_t agree = 0;
  for (std::int64_t i = 0; i < n; ++i)
    agree += metrics_detail::row_top1(surrogate_probabilities, i) == metrics_detail::row_top1(victim_probabilities, i);
  return static_cast<double>(agree) / static_cast<double>(n);
}

// The profile point of the model that answered a query (the router's latency metric).
struct served_model {
  double accuracy = 0;
  double latency_ms = 0;
};

// One query of a workload as the server saw it.
struct served_query {
  psml::service_request request;       // the client's original request (before any defense noise)
  bool feasible = true;                // F(A, L) on the front was non-empty
  std::optional<served_model> served;  // empty: the query was not answered
};

inline bool met_request(const served_query& q) {
  return q.served && (!q.request.min_accuracy || q.served->accuracy >= *q.request.min_accuracy) &&
         (!q.request.max_latency_ms || q.served->latency_ms <= *q.request.max_latency_ms);
}

struct goodput_result {
  std::int64_t queries = 0, answered = 0, met = 0, infeasible = 0;
  double over_all = 0;       // met / queries: infeasible and unanswered queries count as misses
  double over_answered = 0;  // met / answered; 0 when nothing was answered
  double infeasible_fraction = 0;  // infeasible / queries: the ceiling 1 - this caps over_all
};

inline goodput_result goodput(const std::vector<served_query>& queries) {
  check(!queries.empty(), "goodput", "the workload holds no queries");
  goodput_result g;
  g.queries = static_cast<std::int64_t>(queries.size());
  for (const served_query& q : queries) {
    g.answered += q.served.has_value();
    g.met += met_request(q);
    g.infeasible += !q.feasible;
  }
  g.over_all = static_cast<double>(g.met) / static_cast<double>(g.queries);
  g.over_answered = g.answered == 0 ? 0.0 : static_cast<double>(g.met) / static_cast<double>(g.answered);
  g.infeasible_fraction = static_cast<double>(g.infeasible) / static_cast<double>(g.queries);
  return g;
}

// The PSML code's l1_score: (1 - accuracy shortfall)/2 + (1 - latency excess / scale)/2, each shortfall
// clipped at 0, a missing bound costing nothing. 1 exactly when the served model meets the request. The
// code's scale is 100 ms; Fashion-MNIST latencies are sub-millisecond, so callers may choose a smaller one.
inline double l1_utility(const psml::service_request& request, const served_model& served,
                         double latency_scale_ms = 100.0) {
  check(latency_scale_ms > 0 && std::isfinite(latency_scale_ms), "l1_utility", "latency_scale_ms ",
        latency_scale_ms, " must be a finite number > 0");
  const double shortfall = request.min_accuracy ? std::max(*request.min_accuracy - served.accuracy, 0.0) : 0.0;
  const double excess =
      request.max_latency_ms ? std::max(served.latency_ms - *request.max_latency_ms, 0.0) / latency_scale_ms : 0.0;
  return (1.0 - shortfall) / 2.0 + (1.0 - excess) / 2.0;
}

// Mean l1_utility over the answered queries (the router's running sum divided by its answers); 0 when
// nothing was answered.
inline double mean_utility(const std::vector<served_query>& queries, double latency_scale_ms = 100.0) {
  check(!queries.empty(), "mean_utility", "the workload holds no queries");
  double total = 0;
  std::int64_t answered = 0;
  for (const served_query& q : queries)
    if (q.served) total += l1_utility(q.request, *q.served, latency_scale_ms), ++answered;
  return answered == 0 ? 0.0 : total / static_cast<double>(answered);
}

}  // namespace patchzoo::attack
