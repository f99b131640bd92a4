// Selection granularity: per_request answers a whole batch with one decision; per_input makes one
// independent decision per input, numbered consecutively, exactly as that many single routes would.
#include <doctest/doctest.h>

#include <memory>
#include <set>
#include <vector>

#include "patchzoo/psml/make_mechanism.hpp"
#include "patchzoo/psml/router.hpp"

using namespace patchzoo;
using namespace patchzoo::psml;

namespace {

std::vector<model_profile> zoo() {
  return {{"a", "net-a", 0.80, 1.0, 1.0, 0, 0}, {"b", "net-b", 0.85, 2.0, 2.0, 0, 0},
          {"c", "net-c", 0.90, 4.0, 4.0, 0, 0}, {"d", "net-d", 0.70, 5.0, 5.0, 0, 0}};
}

router make(selection_granularity g, const char* defense, std::uint64_t seed = 9) {
  router_config config;
  config.seed = seed;
  config.granularity = g;
  return router(zoo(), config, make_mechanism(parse_defense_config(defense), selection_policy::uniform));
}

}  // namespace

TEST_CASE("granularity: per-request shares one decision across the batch") {
  auto r = make(selection_granularity::per_request, "exponential:epsilon=1");
  for (int batch = 0; batch < 50; ++batch) {
    const std::vector<route_decision> d = r.route_inputs({0.85, 3.0}, 16);
    REQUIRE(d.size() == 16);
    for (const route_decision& x : d) {
      CHECK(x.model_index == d[0].model_index);
      CHECK(x.request_number == static_cast<std::uint64_t>(batch + 1));
    }
  }
  CHECK(r.route_inputs({}, 0).empty());
  CHECK(r.route({}).request_number == 51);  // an empty batch spends no request number
}

TEST_CASE("granularity: per-input decisions are independent, consecutive, and equal to single routes") {
  auto batched = make(selection_granularity::per_input, "exponential:epsilon=1");
  auto single = make(selection_granularity::per_input, "exponential:epsilon=1");
  const service_request request{0.85, 3.0};  // F = {b}, but a small epsilon serves every front model
  std::set<std::size_t> models;
  std::uint64_t expected_number = 1;
  for (int batch = 0; batch < 4; ++batch) {
    const std::vector<route_decision> d = batched.route_inputs(request, 32);
    REQUIRE(d.size() == 32);
    for (const route_decision& x : d) {
      CHECK(x.request_number == expected_number++);
      const route_decision alone = single.route(request);
      CHECK(x.model_index == alone.model_index);
      CHECK(x.met_request == alone.met_request);
      models.insert(x.model_index);
    }
  }
  CHECK(models == std::set<std::size_t>{0, 1, 2});  // the front; 'd' is dominated
  CHECK_THROWS_WITH_AS(batched.route_inputs({2.0, std::nullopt}, 3), doctest::Contains("min_accuracy"), error);
  CHECK(parse_selection_granularity("per-input") == selection_granularity::per_input);
  CHECK_THROWS_WITH_AS(parse_selection_granularity("per-batch"), doctest::Contains("per-batch"), error);
}

TEST_CASE("granularity: a pin holds for every input") {
  auto r = make(selection_granularity::per_input, "permute-and-flip:epsilon=0");
  r.pin(3);
  for (const route_decision& d : r.route_inputs({}, 10)) {
    CHECK(d.pinned);
    CHECK(d.model_index == 3);
  }
}
