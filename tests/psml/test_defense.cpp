// Defense mechanisms: selection frequencies against their closed forms (exponential, permute-and-flip
// by enumerating every order), independently computed reference numbers (victim-trigger probability and
// goodput on the CIFAR-10 front), the epsilon limits, the utility scores, and noisy-spec's guarantees.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "patchzoo/core/rng.hpp"
#include "patchzoo/psml/exponential_mechanism.hpp"
#include "patchzoo/psml/make_mechanism.hpp"
#include "patchzoo/psml/noisy_spec_mechanism.hpp"
#include "patchzoo/psml/permute_and_flip.hpp"
#include "patchzoo/psml/random_draws.hpp"
#include "patchzoo/psml/utility_score.hpp"
#include "psml/cifar10_front.hpp"

using namespace patchzoo;
using namespace patchzoo::psml;

namespace {

defense_config ranking(defense_kind kind, double epsilon, utility_score score = utility_score::l1) {
  defense_config c;
  c.kind = kind;
  c.score = score;
  c.epsilon = epsilon;
  return c;
}

// Selection frequency of every front position over `draws` independent request streams.
std::vector<double> frequencies(const selection_mechanism& m, const service_request& r, const std::vector<candidate>& front,
                                int draws, std::uint64_t seed, int* refused = nullptr) {
  std::vector<double> f(front.size(), 0.0);
  for (int n = 0; n < draws; ++n) {
    rng_stream rng(seed, static_cast<std::uint64_t>(n) << 20);
    const selection s = m.select(r, front, rng);
    if (s.status == selection_status::infeasible) {
      if (refused) ++*refused;
      continue;
    }
    ++f.at(s.model_index);  // cifar10_front's model_index is its front position
  }
  for (double& x : f) x /= draws;
  return f;
}

// |observed - p| within 4 binomial standard deviations (plus `slack` for rounded reference numbers).
void check_frequency(double observed, double p, int draws, double slack = 0.0) {
  const double sigma = std::sqrt(std::max(p * (1.0 - p), 1e-12) / draws);
  CHECK_MESSAGE(std::abs(observed - p) <= 4.0 * sigma + slack + 1e-12, "observed ", observed, " expected ", p);
}

// Permute-and-flip's serving probabilities by walking all n! orders, independently of the class's formula.
std::vector<double> permute_and_flip_by_enumeration(const std::vector<double>& accept) {
  std::vector<std::size_t> order(accept.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::vector<double> p(accept.size(), 0.0);
  double orders = 0.0;
  do {
    orders += 1.0;
    double all_rejected = 1.0;
    for (std::size_t i : order) {
      p[i] += all_rejected * accept[i];
      all_rejected *= 1.0 - accept[i];
    }
  } while (std::next_permutation(order.begin(), order.end()));
  for (double& x : p) x /= orders;
  return p;
}

}  // namespace

TEST_CASE("utility scores: l1 as in the PSML code, 1 exactly on feasible models, quantile scales are the front medians") {
  const auto front = test::cifar10_front();
  const service_request trigger = test::cifar10_trigger();
  const metric_scales fixed{1.0, 100.0};
  // vgg11 misses the accuracy by 1.08 points: (1 - 0.0108)/2 + 1/2; vit_small is 17.69 ms too slow.
  CHECK(l1_score(front[0], trigger, fixed) == doctest::Approx(0.9946).epsilon(1e-12));
  CHECK(l1_score(front[4], trigger, fixed) == doctest::Approx(0.5 + 0.5 * (1.0 - 0.1769)).epsilon(1e-12));
  CHECK(l1_score(front[3], trigger, fixed) == 1.0);
  CHECK(l1_score(front[0], {}, fixed) == 1.0);  // absent bounds cost nothing
  for (const candidate& c : front) CHECK(utility(utility_score::goodput, c, trigger, fixed) == (c.model_index == 3 ? 1.0 : 0.0));

  defense_config quantile = ranking(defense_kind::exponential, 1.0, utility_score::quantile);
  const metric_scales medians = scales_for(quantile, front);
  CHECK(medians.accuracy == doctest::Approx(0.9430));  // 7 models: the 4th accuracy and latency (vgg19)
  CHECK(medians.latency_ms == doctest::Approx(18.17));
  const std::vector<double> u = utilities(quantile, trigger, front);
  CHECK(u[0] == doctest::Approx(0.5 + 0.5 * (1.0 - 0.0108 / 0.9430)).epsilon(1e-12));
  CHECK(u[4] == doctest::Approx(0.5 + 0.5 * (1.0 - 17.69 / 18.17)).epsilon(1e-12));
  CHECK(u[3] == 1.0);
  CHECK(median({3.0, 1.0, 4.0, 2.0}) == 2.5);
}

TEST_CASE("exponential mechanism: frequencies match p_i proportional to exp(eps * u_i / (2 sensitivity))") {
  const auto front = test::cifar10_front();
  const int draws = 20000;
  const std::vector<service_request> requests = {test::cifar10_trigger(), {0.95, 40.0}, {0.99, std::nullopt}};
  for (utility_score score : {utility_score::l1, utility_score::goodput, utility_score::quantile})
    for (double epsilon : {0.0, 20.0, 300.0}) {
      defense_config c = ranking(defense_kind::exponential, epsilon, score);
      c.sensitivity = 0.5;
      const exponential_mechanism m(c);
      for (std::size_t r = 0; r < requests.size(); ++r) {
        CAPTURE(utility_score_name(score));
        CAPTURE(epsilon);
        CAPTURE(r);
        const std::vector<double> u = utilities(c, requests[r], front);
        std::vector<double> closed(u.size());
        double total = 0.0;
        for (std::size_t i = 0; i < u.size(); ++i) total += closed[i] = std::exp(epsilon * u[i] / (2.0 * c.sensitivity));
        for (double& p : closed) p /= total;
        const std::vector<double> exact = m.probabilities(requests[r], front);
        const std::vector<double> seen = frequencies(m, requests[r], front, draws, 100 + r);
        for (std::size_t i = 0; i < front.size(); ++i) {
          CHECK(exact[i] == doctest::Approx(closed[i]).epsilon(1e-9));
          check_frequency(seen[i], closed[i], draws);
        }
      }
    }
}

TEST_CASE("permute-and-flip: the closed form equals enumeration of all orders, and frequencies match it") {
  const auto front = test::cifar10_front();
  const int draws = 20000;
  for (utility_score score : {utility_score::l1, utility_score::goodput, utility_score::quantile})
    for (double epsilon : {0.0, 30.0, 400.0})
      for (const service_request& request : {test::cifar10_trigger(), service_request{0.95, 40.0}, service_request{0.995, 5.0}}) {
        CAPTURE(utility_score_name(score));
        CAPTURE(epsilon);
        const permute_and_flip_mechanism m(ranking(defense_kind::permute_and_flip, epsilon, score));
        const std::vector<double> exact = permute_and_flip_by_enumeration(m.acceptance(request, front));
        const std::vector<double> formula = m.probabilities(request, front);
        int refused = 0;
        const std::vector<double> seen = frequencies(m, request, front, draws, 7, &refused);
        const double served = std::accumulate(exact.begin(), exact.end(), 0.0);
        for (std::size_t i = 0; i < front.size(); ++i) {
          CHECK(formula[i] == doctest::Approx(exact[i]).epsilon(1e-10));
          check_frequency(seen[i], exact[i], draws);
        }
        check_frequency(static_cast<double>(refused) / draws, 1.0 - served, draws);
      }
}

TEST_CASE("reference numbers: victim-trigger probability on the CIFAR-10 front, exponential and permute-and-flip") {
  const auto front = test::cifar10_front();
  const service_request trigger = test::cifar10_trigger();
  struct row {
    double epsilon, exponential, permute_and_flip;
  };
  // The reference numbers are rounded to 2-3 digits, hence the 0.006 slack on top of 4 sigma.
  const row table[] = {{1, 0.147, 0.147}, {10, 0.181, 0.184}, {100, 0.281, 0.29}, {1000, 0.592, 0.698}, {10000, 1.0, 1.0}};
  const int draws = 20000;
  for (const row& t : table) {
    CAPTURE(t.epsilon);
    const exponential_mechanism em(ranking(defense_kind::exponential, t.epsilon));
    const permute_and_flip_mechanism pf(ranking(defense_kind::permute_and_flip, t.epsilon));
    check_frequency(frequencies(em, trigger, front, draws, 41)[test::cifar10_victim], t.exponential, draws, 0.006);
    check_frequency(frequencies(pf, trigger, front, draws, 43)[test::cifar10_victim], t.permute_and_flip, draws, 0.006);
    CHECK(em.probabilities(trigger, front)[test::cifar10_victim] == doctest::Approx(t.exponential).epsilon(0.006 / t.exponential));
    CHECK(pf.probabilities(trigger, front)[test::cifar10_victim] ==
          doctest::Approx(t.permute_and_flip).epsilon(0.006 / t.permute_and_flip));
  }
  // Only the ratio epsilon / sensitivity matters.
  defense_config scaled = ranking(defense_kind::exponential, 10.0);
  scaled.sensitivity = 0.01;
  CHECK(exponential_mechanism(scaled).probabilities(trigger, front)[test::cifar10_victim] ==
        doctest::Approx(exponential_mechanism(ranking(defense_kind::exponential, 1000.0)).probabilities(trigger, front)[test::cifar10_victim]));
}

TEST_CASE("reference numbers: exponential-mechanism goodput on A ~ U[90, 99] %, L ~ U[10, 80] ms") {
  const auto front = test::cifar10_front();
  rng_stream specs(2023);
  std::vector<service_request> workload;
  for (int n = 0; n < 20000; ++n) workload.push_back({0.90 + 0.09 * open_uniform(specs), 10.0 + 70.0 * open_uniform(specs)});
  double feasible = 0.0;
  for (const service_request& r : workload) feasible += feasible_candidates(r, front).empty() ? 0.0 : 1.0;
  feasible /= static_cast<double>(workload.size());
  CHECK(feasible == doctest::Approx(0.74).epsilon(0.02 / 0.74));
  // Goodput over all specs = mean probability of serving a model that meets the spec.
  struct row {
    double epsilon, goodput;
  };
  for (const row& t : {row{0.0, 0.41}, row{10.0, 0.43}, row{100.0, 0.53}, row{1000.0, 0.69}, row{10000.0, 0.735}}) {
    CAPTURE(t.epsilon);
    const exponential_mechanism m(ranking(defense_kind::exponential, t.epsilon));
    double goodput = 0.0;
    for (const service_request& r : workload) {
      const std::vector<double> p = m.probabilities(r, front);
      for (std::size_t i = 0; i < front.size(); ++i)
        if (meets(front[i], r)) goodput += p[i];
    }
    goodput /= static_cast<double>(workload.size());
    CHECK(goodput == doctest::Approx(t.goodput).epsilon(0.015 / t.goodput));
  }
}

TEST_CASE("epsilon limits: 1e9 always serves a feasible model when one exists; 0 is uniform over the whole front") {
  const auto front = test::cifar10_front();
  rng_stream specs(99);
  for (defense_kind kind : {defense_kind::exponential, defense_kind::permute_and_flip})
    for (utility_score score : {utility_score::l1, utility_score::goodput, utility_score::quantile}) {
      CAPTURE(defense_kind_name(kind));
      CAPTURE(utility_score_name(score));
      const auto m = make_mechanism(ranking(kind, 1e9, score), selection_policy::uniform);
      for (int n = 0; n < 2000; ++n) {
        const service_request r{0.92 + 0.07 * open_uniform(specs), 10.0 + 60.0 * open_uniform(specs)};
        if (feasible_candidates(r, front).empty()) continue;
        rng_stream rng(5, static_cast<std::uint64_t>(n) << 20);
        const selection s = m->select(r, front, rng);
        REQUIRE(s.status == selection_status::selected);
        CHECK(meets(front[s.model_index], r));
      }
      // At epsilon = 0 the request no longer matters: each front model is served 1/7 of the time.
      const auto flat = make_mechanism(ranking(kind, 0.0, score), selection_policy::uniform);
      const std::vector<double> seen = frequencies(*flat, test::cifar10_trigger(), front, 14000, 3);
      for (double f : seen) check_frequency(f, 1.0 / 7.0, 14000);
    }
}

TEST_CASE("infeasible requests: permute-and-flip refuses only when no model meets the request; exponential answers") {
  const auto front = test::cifar10_front();
  const service_request impossible{0.99, std::nullopt};  // above every accuracy
  int refused = 0;
  const permute_and_flip_mechanism pf(ranking(defense_kind::permute_and_flip, 1e9));
  frequencies(pf, impossible, front, 500, 1, &refused);
  CHECK(refused == 500);  // every coin has probability exp(-huge) = 0
  // At a moderate epsilon the coins of the near-misses are well below 1, so some walks end with nothing.
  const permute_and_flip_mechanism gentle(ranking(defense_kind::permute_and_flip, 400.0));
  const std::vector<double> exact = gentle.probabilities(impossible, front);
  const double refusal = 1.0 - std::accumulate(exact.begin(), exact.end(), 0.0);
  CHECK(refusal > 0.05);
  CHECK(refusal < 0.95);
  refused = 0;
  frequencies(gentle, impossible, front, 4000, 2, &refused);
  check_frequency(refused / 4000.0, refusal, 4000);
  for (const service_request& r : {test::cifar10_trigger(), service_request{0.93, 12.0}, service_request{}}) {
    refused = 0;
    frequencies(gentle, r, front, 2000, 4, &refused);
    CHECK(refused == 0);
  }
  const exponential_mechanism em(ranking(defense_kind::exponential, 1e9));
  const std::vector<double> closest = frequencies(em, impossible, front, 200, 6);
  CHECK(closest[6] == 1.0);  // the most accurate model has the best l1 score
}

TEST_CASE("noisy-spec with never-looser: never serves a model that misses the request; falls back, never refuses a feasible one") {
  const auto front = test::cifar10_front();
  defense_config c;
  c.kind = defense_kind::noisy_spec;
  c.accuracy_noise = 0.02;
  c.latency_noise_ms = 15.0;
  rng_stream specs(17);
  for (noise_distribution noise : {noise_distribution::laplace, noise_distribution::gaussian})
    for (selection_policy policy : {selection_policy::uniform, selection_policy::min_latency, selection_policy::max_accuracy}) {
      c.noise = noise;
      const noisy_spec_mechanism m(c, policy);
      int tightened = 0;
      for (int n = 0; n < 5000; ++n) {
        service_request r{0.90 + 0.09 * open_uniform(specs), 5.0 + 75.0 * open_uniform(specs)};
        if (n % 5 == 0) r.min_accuracy.reset();
        if (n % 7 == 0) r.max_latency_ms.reset();
        rng_stream rng(8, static_cast<std::uint64_t>(n) << 20);
        const selection s = m.select(r, front, rng);
        const bool feasible = !feasible_candidates(r, front).empty();
        CHECK((s.status == selection_status::selected) == feasible);
        if (s.status == selection_status::selected) CHECK(meets(front[s.model_index], r));
        rng_stream again(8, static_cast<std::uint64_t>(n) << 20);
        const service_request noisy = m.perturb(r, again);
        CHECK(noisy.min_accuracy.has_value() == r.min_accuracy.has_value());
        CHECK(noisy.max_latency_ms.has_value() == r.max_latency_ms.has_value());
        if (r.min_accuracy) CHECK(*noisy.min_accuracy >= *r.min_accuracy);
        if (r.max_latency_ms) CHECK(*noisy.max_latency_ms <= *r.max_latency_ms);
        tightened += noisy.min_accuracy != r.min_accuracy || noisy.max_latency_ms != r.max_latency_ms;
      }
      CHECK(tightened > 2500);  // the noise does act
    }
}

TEST_CASE("noisy-spec: only a bound that may loosen moves the fingerprinting trigger off the victim") {
  const auto front = test::cifar10_front();
  defense_config c;
  c.kind = defense_kind::noisy_spec;
  c.accuracy_noise = 0.005;
  c.latency_noise_ms = 5.0;
  const int draws = 4000;
  // never-looser: the trigger's feasible set is the victim alone and can only shrink, so the fallback serves the victim.
  const noisy_spec_mechanism strict(c, selection_policy::uniform);
  CHECK(frequencies(strict, test::cifar10_trigger(), front, draws, 12)[test::cifar10_victim] == 1.0);
  c.never_looser = false;
  const noisy_spec_mechanism loose(c, selection_policy::uniform);
  const double victim = frequencies(loose, test::cifar10_trigger(), front, draws, 12)[test::cifar10_victim];
  CHECK(victim < 0.9);
  CHECK(victim > 0.3);
}

TEST_CASE("noise draws: Laplace and Gaussian have the configured spread; open_uniform stays inside (0, 1)") {
  rng_stream rng(31);
  const int n = 40000;
  double lap_sum = 0.0, lap_sq = 0.0, gau_sum = 0.0, gau_sq = 0.0, lap_abs = 0.0;
  for (int i = 0; i < n; ++i) {
    const double l = laplace_noise(rng, 2.0), g = gaussian_noise(rng, 3.0);
    lap_sum += l;
    lap_sq += l * l;
    lap_abs += std::abs(l);
    gau_sum += g;
    gau_sq += g * g;
    const double u = open_uniform(rng);
    REQUIRE(u > 0.0);
    REQUIRE(u < 1.0);
  }
  CHECK(std::abs(lap_sum / n) < 4.0 * std::sqrt(8.0 / n));
  CHECK(lap_sq / n == doctest::Approx(8.0).epsilon(0.06));   // variance 2 b^2
  CHECK(lap_abs / n == doctest::Approx(2.0).epsilon(0.03));  // E|X| = b
  CHECK(std::abs(gau_sum / n) < 4.0 * std::sqrt(9.0 / n));
  CHECK(gau_sq / n == doctest::Approx(9.0).epsilon(0.04));
}
