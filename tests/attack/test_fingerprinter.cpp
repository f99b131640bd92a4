// The fingerprinter on synthetic zoos: every boundary within its precision, the exact query count and
// its bound, a trigger that returns the victim on every query without a defense, and the naive baseline's
// victim share of about 1/|F| for comparison.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>

#include "attack/attack_fixtures.hpp"
#include "patchzoo/attack/fingerprinter.hpp"

using namespace patchzoo;
using namespace patchzoo::attack;

namespace {

void check_recovered(const fingerprint_result& r, const std::vector<psml::model_profile>& truth,
                     const fingerprint_config& c) {
  REQUIRE(r.models.size() == truth.size());
  std::set<signature> sigs;
  for (std::size_t v = 0; v < truth.size(); ++v) {
    const fingerprinted_model& m = r.models[v];
    CHECK(m.rank == static_cast<int>(v));
    // Accuracy: the highest answered floor, at most one precision step below the true accuracy.
    CHECK(m.accuracy <= truth[v].accuracy);
    CHECK(m.accuracy >= truth[v].accuracy - c.accuracy_precision);
    // Latency: the lowest answered ceiling, at most a factor (1 + precision) above the true latency.
    CHECK(m.latency_ms >= truth[v].latency_p50_ms);
    CHECK(m.latency_ms <= truth[v].latency_p50_ms * (1.0 + c.latency_precision));
    sigs.insert(m.sig);
  }
  CHECK(sigs.size() == truth.size());  // every model has its own signature
}

}  // namespace

TEST_CASE("fingerprinter: recovers every boundary of a 5-model front within precision, and its trigger always returns the victim") {
  test::synthetic_setup s({.front_models = 5, .dominated_models = 2, .seed = 3});
  const tensor<float> probes = test::random_images(1, 77);
  const fingerprint_config c;
  fingerprinter fp(*s.client, probes, c);
  const fingerprint_result r = fp.run(1);
  check_recovered(r, s.front_by_rank(), c);
  CHECK(r.census_signatures == 5);  // dominated models are never served
  CHECK(r.signatures_seen == 5);
  CHECK(r.verified());
  CHECK(r.verify_matches == c.verify_requests);
  // The exact count: every query the client saw went to one of the three phases.
  CHECK(r.queries() == s.client->queries());
  CHECK(r.census_queries == c.census_requests);
  CHECK(r.verify_queries == c.verify_requests);
  CHECK(r.queries() <= fingerprint_query_bound(c, 5, 1));

  // 1000 trigger queries: the router served the victim (second most accurate) every time.
  const std::string victim_id = s.front_by_rank()[1].id;
  s.client->clear_served_models();
  const tensor<float> image = test::random_images(1, 5);
  for (int i = 0; i < 1000; ++i) REQUIRE(s.client->query(r.trigger, image).answered);
  REQUIRE(s.client->served_models().size() == 1000);
  for (std::size_t m : s.client->served_models()) CHECK(s.router->profiles()[m].id == victim_id);
}

TEST_CASE("fingerprinter: random fronts of 1 to 12 models, coarse and fine precision, any plain policy") {
  for (std::size_t k : {1u, 2u, 3u, 7u, 12u})
    for (double precision : {0.01, 0.0005})
      for (auto policy : {psml::selection_policy::uniform, psml::selection_policy::min_latency,
                          psml::selection_policy::max_accuracy, psml::selection_policy::infaas_like}) {
        CAPTURE(k);
        CAPTURE(precision);
        CAPTURE(psml::policy_name(policy));
        test::synthetic_setup s({.front_models = k, .dominated_models = 1, .seed = 11 + k}, policy);
        fingerprint_config c;
        c.accuracy_precision = precision;
        c.latency_precision = precision;
        c.census_requests = 4;
        const fingerprint_result r = fingerprinter(*s.client, test::random_images(2, 9), c).run(static_cast<int>(k - 1));
        check_recovered(r, s.front_by_rank(), c);
        CHECK(r.verified());
        CHECK(r.queries() == s.client->queries());
        CHECK(r.queries() <= fingerprint_query_bound(c, static_cast<std::int64_t>(k), 2));
      }
}

TEST_CASE("fingerprinter: a centre trigger lies inside the victim's rectangle and also returns only the victim") {
  test::synthetic_setup s({.front_models = 6, .dominated_models = 0, .seed = 5});
  fingerprint_config c;
  c.centre_trigger = true;
  const fingerprint_result r = fingerprinter(*s.client, test::random_images(1, 1), c).run(2);
  const auto truth = s.front_by_rank();
  CHECK(*r.trigger.min_accuracy > truth[3].accuracy);
  CHECK(*r.trigger.min_accuracy <= truth[2].accuracy);
  CHECK(*r.trigger.max_latency_ms >= truth[2].latency_p50_ms);
  CHECK(*r.trigger.max_latency_ms < truth[1].latency_p50_ms);
  CHECK(r.verified());
}

TEST_CASE("fingerprinter: without fingerprinting a uniform server gives the victim about 1/|F| of the answers") {
  test::synthetic_setup s({.front_models = 4, .dominated_models = 0, .seed = 2});
  const auto truth = s.front_by_rank();
  // A naive spec that admits the two most accurate models.
  const psml::service_request naive{truth[1].accuracy - 1e-6, std::nullopt};
  const tensor<float> image = test::random_images(1, 3);
  for (int i = 0; i < 2000; ++i) s.client->query(naive, image);
  const auto& served = s.client->served_models();
  const auto victim = static_cast<double>(std::count_if(served.begin(), served.end(), [&](std::size_t m) {
    return s.router->profiles()[m].id == truth[0].id;
  }));
  CHECK(victim / 2000.0 == doctest::Approx(0.5).epsilon(0.1));
}

TEST_CASE("fingerprinter: bad configurations and impossible victims are named errors") {
  test::synthetic_setup s({.front_models = 3, .dominated_models = 0, .seed = 1});
  const tensor<float> probes = test::random_images(1, 1);
  fingerprint_config c;
  c.accuracy_precision = 0;
  CHECK_THROWS_WITH_AS(fingerprinter(*s.client, probes, c), doctest::Contains("precisions"), error);
  c = {};
  c.latency_lo_ms = 2.0;
  c.latency_hi_ms = 1.0;
  CHECK_THROWS_WITH_AS(fingerprinter(*s.client, probes, c), doctest::Contains("latency range"), error);
  CHECK_THROWS_WITH_AS(fingerprinter(*s.client, probes, {}).run(3), doctest::Contains("only 3 models"), error);
}
