// Routes accuracy/latency requests over a zoo's profiles with PSML's model-less router: undefended, the
// answer is a feasible model or "infeasible"; behind the exponential-mechanism defense every front model
// keeps a chance. Exits 1 unless the dominated model is off the front, every undefended answer meets its
// request, the impossible request is refused and the defense serves only front models, not always one.
#include <algorithm>
#include <cstdio>
#include <set>
#include <vector>

#include <patchzoo/psml/make_mechanism.hpp>
#include <patchzoo/psml/router.hpp>

int main() {
  using namespace patchzoo::psml;
  const std::vector<model_profile> zoo{  // id, architecture, accuracy, latency p50 and p99 (ms)
      {"m0", "softmax", 0.80, 0.5, 0.8}, {"m1", "mlp", 0.86, 1.0, 1.5}, {"m2", "mlp-wide", 0.84, 2.0, 3.0},
      {"m3", "cnn", 0.90, 3.0, 4.0},     {"m4", "vit", 0.92, 6.0, 9.0}};
  router plain(zoo, {.seed = 1}, make_mechanism(defense_config{}, selection_policy::uniform));
  const bool m2_off_front = std::ranges::find(plain.front(), 2u) == plain.front().end();  // m1 dominates m2
  bool all_met = true;
  for (int i = 0; i < 100; ++i)  // F = {m1, m3}: answered by either, at random
    all_met = all_met && plain.route({.min_accuracy = 0.85, .max_latency_ms = 4.0}).met_request;
  const route_decision impossible = plain.route({.min_accuracy = 0.95, .max_latency_ms = std::nullopt});
  const bool refused = impossible.status == selection_status::infeasible;

  const defense_config defense =
      parse_defense_config("exponential:score=l1,epsilon=20,accuracy-scale=0.1,latency-scale=10");
  router defended(zoo, {.seed = 1}, make_mechanism(defense, selection_policy::uniform));
  std::set<std::size_t> served;
  int met = 0;
  for (int i = 0; i < 1000; ++i) {
    const route_decision d = defended.route({.min_accuracy = 0.89, .max_latency_ms = 4.0});  // only m3 meets it
    served.insert(d.model_index);
    met += d.met_request;
  }
  const bool front_only = std::ranges::all_of(served, [&](std::size_t m) { return std::ranges::count(defended.front(), m); });
  std::printf("front of %zu models; defended (%s): %zu models served, %d / 1000 met the request\n",
              plain.front().size(), describe(defense).c_str(), served.size(), met);
  return m2_off_front && all_met && refused && front_only && served.size() > 1 && met > 500 ? 0 : 1;
}
