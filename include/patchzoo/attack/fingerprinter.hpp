#pragma once
// The fingerprinting attack (PSML, arXiv 2307.01292): map a model-less server's accuracy/latency space to its
// Pareto-front models, then build a request that only the chosen victim can satisfy.
//
// A plain server answers spec (A, L) iff some front model has accuracy >= A and latency <= L, i.e. iff
// A <= the best accuracy available within L. That answered/refused bit does not depend on which model
// the policy then picks, so one request per probe point suffices, and the front is the staircase of
// that function. Walking it from the most accurate model down:
//   1. census: unconstrained requests carrying the probe images; distinct signatures = models seen;
//   2. accuracy boundary: bisect the highest A still answered within the current latency cap -> a_v;
//   3. latency boundary: bisect (in log space) the lowest L answered at A = a_v -> l_v; the largest
//      refused L becomes the next cap (it lies between l_{v-1} and l_v), and so on until nothing answers;
//   4. every (a_v, l_v) is a corner of the staircase: only model v is feasible there, so its answers
//      on the probes are v's signature; the victim is picked by accuracy rank and its corner is the
//      trigger; verification repeats the trigger and checks every answer has the victim's signature.
// Every request carries the probe images, so every query counts; the result says where they went.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "patchzoo/attack/signature.hpp"
#include "patchzoo/attack/zoo_client.hpp"
#include "patchzoo/core/error.hpp"

namespace patchzoo::attack {

struct fingerprint_config {
  double accuracy_lo = 0.0, accuracy_hi = 1.0;   // the searched accuracy range (fractions)
  double accuracy_precision = 0.001;             // absolute: 0.001 = 0.1 accuracy point
  double latency_lo_ms = 1e-4, latency_hi_ms = 1e4;
  double latency_precision = 0.001;              // relative: the bisection stops when hi / lo <= 1 + this
  int repeats = 1;                               // requests per probe point (majority vote of "answered")
  int census_requests = 32;                      // unconstrained requests of the census
  int verify_requests = 10;                      // repeats of the trigger spec
  int max_models = 64;                           // stop the walk after this many corners
  bool centre_trigger = false;                   // trigger at the centre of the victim's rectangle, not its corner
};

// One model found on the front: its boundaries, as measured, and its signature.
struct fingerprinted_model {
  double accuracy = 0.0;    // highest accuracy floor still answered (within precision below the true a_v)
  double latency_ms = 0.0;  // lowest latency ceiling answered at that floor (within precision above l_v)
  signature sig;
  int rank = 0;             // 0 = most accurate
};

struct fingerprint_result {
  std::vector<fingerprinted_model> models;  // most accurate first
  std::int64_t census_signatures = 0;       // distinct signatures seen by the census requests
  std::int64_t signatures_seen = 0;         // distinct signatures seen in all answered requests
  int victim_rank = 0;
  psml::service_request trigger;
  signature victim_signature;
  int verify_matches = 0, verify_requests = 0;  // trigger answers carrying the victim's signature
  std::int64_t census_queries = 0, search_queries = 0, verify_queries = 0;
  std::int64_t queries() const { return census_queries + search_queries + verify_queries; }
  bool verified() const { return verify_requests > 0 && verify_matches == verify_requests; }
};

// Bisection steps to shrink [lo, hi] to `precision` (absolute or, for latency, a log ratio).
inline int bisection_steps(double range, double precision) {
  return range <= precision ? 0 : static_cast<int>(std::ceil(std::log2(range / precision)));
}

// Most queries fingerprint() may spend on a front of `models` models (the bound the tests check).
inline std::int64_t fingerprint_query_bound(const fingerprint_config& c, std::int64_t models, std::int64_t probes) {
  const int acc_steps = bisection_steps(c.accuracy_hi - c.accuracy_lo, c.accuracy_precision);
  const int lat_steps = bisection_steps(std::log(c.latency_hi_ms / c.latency_lo_ms), std::log1p(c.latency_precision));
  // Per model: two end checks and the steps of each search, one corner and one cap check.
  const std::int64_t points_per_model = 2 + acc_steps + 2 + lat_steps + 1;
  return (c.census_requests + c.verify_requests + (models * points_per_model + 1) * c.repeats) * probes;
}

class fingerprinter {
 public:
  fingerprinter(zoo_client& client, const tensor<float>& probes, fingerprint_config config)
      : client_(client), probes_(probes.clone()), config_(config) {
    check(probes_.rank() == 4 && probes_.dim(0) >= 1, "fingerprinter", "needs at least one probe image [M, 1, 28, 28]");
    check(config_.accuracy_lo >= 0.0 && config_.accuracy_lo < config_.accuracy_hi && config_.accuracy_hi <= 1.0,
          "fingerprinter", "accuracy range must satisfy 0 <= lo < hi <= 1");
    check(config_.latency_lo_ms > 0.0 && config_.latency_lo_ms < config_.latency_hi_ms, "fingerprinter",
          "latency range must satisfy 0 < lo < hi");
    check(config_.accuracy_precision > 0.0 && config_.latency_precision > 0.0, "fingerprinter", "precisions must be > 0");
    check(config_.repeats >= 1 && config_.census_requests >= 0 && config_.verify_requests >= 1 && config_.max_models >= 1,
          "fingerprinter", "repeats and verify_requests must be >= 1, census_requests >= 0, max_models >= 1");
  }

  // victim_rank 0 = the most accurate model found; ranks past the last model are an error.
  fingerprint_result run(int victim_rank) {
    check(victim_rank >= 0, "fingerprinter", "victim rank must be >= 0, got ", victim_rank);
    fingerprint_result r;
    std::int64_t start = client_.queries();
    std::set<signature> census;
    for (int i = 0; i < config_.census_requests; ++i)
      if (auto s = probe({})) census.insert(*s);
    r.census_signatures = static_cast<std::int64_t>(census.size());
    r.census_queries = client_.queries() - start;

    start = client_.queries();
    walk_staircase(r);
    r.search_queries = client_.queries() - start;
    check(!r.models.empty(), "fingerprinter", "no request was ever answered: nothing to fingerprint");
    check(victim_rank < static_cast<int>(r.models.size()), "fingerprinter", "victim rank ", victim_rank,
          " but only ", r.models.size(), " models were found");

    r.victim_rank = victim_rank;
    r.trigger = trigger_for(r.models, static_cast<std::size_t>(victim_rank));
    r.victim_signature = r.models[static_cast<std::size_t>(victim_rank)].sig;
    start = client_.queries();
    for (int i = 0; i < config_.verify_requests; ++i) {
      const auto s = probe(r.trigger);
      r.verify_matches += s && *s == r.victim_signature;
    }
    r.verify_requests = config_.verify_requests;
    r.verify_queries = client_.queries() - start;
    r.signatures_seen = static_cast<std::int64_t>(seen_.size());
    return r;
  }

  const fingerprint_config& config() const { return config_; }

 private:
  // One request with the probes: the responder's signature, or nothing if refused.
  std::optional<signature> probe(const psml::service_request& spec) {
    client_response res = client_.query(spec, probes_);
    if (!res.answered) return std::nullopt;
    signature s = signature_of(res.probabilities, 0, probes_.dim(0));
    seen_.insert(s);
    return s;
  }

  // Majority of `repeats` requests answered; the last answer's signature is kept for corners.
  bool answered(const psml::service_request& spec, signature* sig = nullptr) {
    int yes = 0;
    for (int i = 0; i < config_.repeats; ++i)
      if (auto s = probe(spec)) {
        ++yes;
        if (sig) *sig = *s;
      }
    return 2 * yes > config_.repeats;
  }

  static psml::service_request spec(std::optional<double> a, std::optional<double> l) { return {a, l}; }

  void walk_staircase(fingerprint_result& r) {
    std::optional<double> cap;  // latency cap: only models at or below it are still to be found
    double accuracy_ceiling = config_.accuracy_hi;
    while (static_cast<int>(r.models.size()) < config_.max_models) {
      if (!answered(spec(config_.accuracy_lo, cap))) break;  // no model left within the cap
      // Highest answered accuracy floor within the cap.
      double lo = config_.accuracy_lo, hi = accuracy_ceiling;
      if (answered(spec(hi, cap))) lo = hi;
      else
        while (hi - lo > config_.accuracy_precision) {
          const double mid = 0.5 * (lo + hi);
          (answered(spec(mid, cap)) ? lo : hi) = mid;
        }
      const double accuracy = lo;
      // Lowest answered latency ceiling at that floor, bisected in log space.
      double llo = config_.latency_lo_ms, lhi = cap.value_or(config_.latency_hi_ms);
      if (!cap && !answered(spec(accuracy, lhi))) break;  // the model is slower than the searched range
      if (answered(spec(accuracy, llo))) lhi = llo;
      else
        while (lhi / llo > 1.0 + config_.latency_precision) {
          const double mid = std::sqrt(llo * lhi);
          (answered(spec(accuracy, mid)) ? lhi : llo) = mid;
        }
      fingerprinted_model m{accuracy, lhi, {}, static_cast<int>(r.models.size())};
      if (!answered(spec(m.accuracy, m.latency_ms), &m.sig)) break;  // the corner must answer (noise otherwise)
      r.models.push_back(m);
      if (lhi == config_.latency_lo_ms) break;  // nothing faster is left in the searched range
      cap = llo;
      accuracy_ceiling = std::min(config_.accuracy_hi, accuracy + config_.accuracy_precision);
    }
  }

  // The corner (a_v, l_v), or the centre of v's rectangle (a_{v-1}, a_v] x [l_v, l_{v+1}).
  psml::service_request trigger_for(const std::vector<fingerprinted_model>& models, std::size_t v) const {
    const fingerprinted_model& m = models[v];
    if (!config_.centre_trigger) return spec(m.accuracy, m.latency_ms);
    const double below = v + 1 < models.size() ? models[v + 1].accuracy : config_.accuracy_lo;
    const double slower = v > 0 ? models[v - 1].latency_ms : config_.latency_hi_ms;
    return spec(0.5 * (below + m.accuracy), std::sqrt(m.latency_ms * slower));
  }

  zoo_client& client_;
  tensor<float> probes_;
  fingerprint_config config_;
  std::set<signature> seen_;
};

}  // namespace patchzoo::attack
