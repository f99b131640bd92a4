#pragma once
// Experiment E3: what fingerprinting costs as the front grows and the precision tightens, measured by
// running the fingerprinter on synthetic fronts (no training involved, so it is cheap).
#include <cstdint>
#include <vector>

#include "patchzoo/attack/fingerprinter.hpp"
#include "patchzoo/attack/in_process_client.hpp"
#include "patchzoo/attack/synthetic_zoo.hpp"
#include "patchzoo/psml/router.hpp"

namespace patchzoo::attack {

struct fingerprint_cost_row {
  std::size_t models = 0;
  double precision = 0;  // accuracy (absolute) and latency (relative) precision alike
  std::int64_t census_queries = 0, search_queries = 0, verify_queries = 0, bound = 0;
  std::int64_t models_found = 0;
  bool verified = false;
};

inline std::vector<fingerprint_cost_row> fingerprint_cost(const std::vector<std::size_t>& sizes,
                                                          const std::vector<double>& precisions,
                                                          const fingerprint_config& base, std::uint64_t seed) {
  std::vector<fingerprint_cost_row> out;
  tensor<float> probe(shape_t{1, 1, 28, 28});
  for (std::int64_t i = 0; i < probe.numel(); ++i) probe[i] = uniform01(seed + 99, static_cast<std::uint64_t>(i));
  for (std::size_t k : sizes)
    for (double precision : precisions) {
      synthetic_zoo_config zc;
      zc.front_models = k;
      zc.seed = seed;
      auto executor = std::make_shared<synthetic_executor>(synthetic_profiles(zc), seed);
      psml::router_config rc;
      rc.seed = seed;
      in_process_client client(executor, std::make_shared<psml::router>(
                                             executor->profiles(), rc,
                                             std::make_unique<psml::plain_policy_mechanism>(psml::selection_policy::uniform)));
      fingerprint_config c = base;
      c.accuracy_precision = precision;
      c.latency_precision = precision;
      const fingerprint_result r = fingerprinter(client, probe, c).run(0);
      out.push_back({k, precision, r.census_queries, r.search_queries, r.verify_queries,
                     fingerprint_query_bound(c, static_cast<std::int64_t>(k), 1),
                     static_cast<std::int64_t>(r.models.size()), r.verified()});
    }
  return out;
}

}  // namespace patchzoo::attack
