// The --defense text form: parsing, defaults, describe() round trips, and errors that name the bad key or
// value; make_mechanism builds the named mechanism.
#include <doctest/doctest.h>

#include <string>

#include "patchzoo/psml/defense_config.hpp"
#include "patchzoo/psml/make_mechanism.hpp"

using namespace patchzoo;
using namespace patchzoo::psml;

TEST_CASE("defense spec: the documented examples parse to the documented fields") {
  CHECK(parse_defense_config("none") == defense_config{});
  const defense_config e = parse_defense_config("exponential:score=l1,epsilon=2,sensitivity=1");
  CHECK(e.kind == defense_kind::exponential);
  CHECK(e.score == utility_score::l1);
  CHECK(e.epsilon == 2.0);
  CHECK(e.sensitivity == 1.0);
  CHECK(e.latency_scale_ms == 100.0);
  const defense_config p = parse_defense_config("permute-and-flip:score=quantile,epsilon=1");
  CHECK(p.kind == defense_kind::permute_and_flip);
  CHECK(p.score == utility_score::quantile);
  CHECK(p.sensitivity == 1.0);
  const defense_config n = parse_defense_config("noisy-spec:noise=gaussian,accuracy=0.01,latency=2,never-looser=0");
  CHECK(n.kind == defense_kind::noisy_spec);
  CHECK(n.noise == noise_distribution::gaussian);
  CHECK(n.accuracy_noise == 0.01);
  CHECK(n.latency_noise_ms == 2.0);
  CHECK_FALSE(n.never_looser);
  CHECK(parse_defense_config("noisy-spec:accuracy=0.02").never_looser);
  CHECK(parse_defense_config("exponential:latency-scale=0.5,accuracy-scale=0.1").latency_scale_ms == 0.5);
}

TEST_CASE("defense spec: describe round-trips through parse, bit for bit") {
  for (const char* spec : {"none", "exponential", "exponential:score=goodput,epsilon=0.1,sensitivity=0.01",
                           "permute-and-flip:score=quantile,epsilon=1e9,latency-scale=0.37",
                           "exponential:epsilon=0.30000000000000004,accuracy-scale=0.05",
                           "noisy-spec:noise=laplace,accuracy=0.013,latency=2.5,never-looser=true", "noisy-spec"}) {
    CAPTURE(spec);
    const defense_config c = parse_defense_config(spec);
    const std::string text = describe(c);
    CHECK(parse_defense_config(text) == c);
    CHECK(describe(parse_defense_config(text)) == text);
  }
  CHECK(describe(parse_defense_config("permute-and-flip:epsilon=2")) ==
        "permute-and-flip:score=l1,epsilon=2,sensitivity=1,accuracy-scale=1,latency-scale=100");
  CHECK(describe(parse_defense_config("noisy-spec:latency=3")) == "noisy-spec:noise=laplace,accuracy=0,latency=3,never-looser=1");
}

TEST_CASE("defense spec: bad specs are rejected and the message names the bad key or value") {
  const std::pair<const char*, const char*> bad[] = {
      {"laplace-mechanism", "laplace-mechanism"},
      {"exponential:epsilon=abc", "epsilon"},
      {"exponential:epsilon=-1", "epsilon"},
      {"exponential:epsilon=inf", "epsilon"},
      {"exponential:epsilon=nan", "epsilon"},
      {"exponential:epsilon=2x", "epsilon"},
      {"exponential:sensitivity=0", "sensitivity"},
      {"permute-and-flip:score=l2", "score"},
      {"permute-and-flip:temperature=1", "temperature"},
      {"exponential:epsilon=1,epsilon=2", "epsilon"},
      {"exponential:epsilon=", "epsilon"},
      {"exponential:epsilon", "epsilon"},
      {"exponential:", "exponential:"},
      {"exponential:latency-scale=0", "latency-scale"},
      {"none:epsilon=1", "epsilon"},
      {"noisy-spec:epsilon=1", "epsilon"},
      {"exponential:noise=gaussian", "noise"},
      {"noisy-spec:noise=cauchy", "noise"},
      {"noisy-spec:accuracy=-0.01", "accuracy"},
      {"noisy-spec:latency=1e400", "latency"},
      {"noisy-spec:never-looser=maybe", "never-looser"},
  };
  for (const auto& [spec, named] : bad) {
    const auto& text = spec;  // CAPTURE is a lambda, and clang 14 cannot capture a structured binding
    CAPTURE(text);
    CHECK_THROWS_WITH_AS(parse_defense_config(spec), doctest::Contains(named), error);
  }
}

TEST_CASE("make_mechanism: builds the named mechanism and rejects an invalid config") {
  CHECK(make_mechanism(parse_defense_config("none"), selection_policy::uniform)->name() == "none");
  CHECK(make_mechanism(parse_defense_config("exponential:epsilon=3"), selection_policy::uniform)->name() == "exponential");
  CHECK(make_mechanism(parse_defense_config("permute-and-flip"), selection_policy::uniform)->name() == "permute-and-flip");
  CHECK(make_mechanism(parse_defense_config("noisy-spec:latency=1"), selection_policy::min_latency)->name() == "noisy-spec");
  defense_config broken;
  broken.kind = defense_kind::exponential;
  broken.sensitivity = -1.0;
  CHECK_THROWS_WITH_AS(make_mechanism(broken, selection_policy::uniform), doctest::Contains("sensitivity"), error);
}
