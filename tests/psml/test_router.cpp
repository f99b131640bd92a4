// Router: Pareto front (rule, ties, dominated models, brute-force property), feasible sets, each
// selection policy, the explicit infeasible status, pinning, and determinism by seed.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "patchzoo/core/rng.hpp"
#include "patchzoo/psml/pareto.hpp"
#include "patchzoo/psml/router.hpp"

using namespace patchzoo;
using namespace patchzoo::psml;

namespace {

model_profile profile(std::string id, double accuracy, double p50, double p99 = -1.0) {
  return {id, "net-" + id, accuracy, p50, p99 < 0 ? p50 : p99, 0, 0};
}

std::vector<std::string> ids(const std::vector<model_profile>& zoo, const std::vector<std::size_t>& idx) {
  std::vector<std::string> out;
  for (std::size_t i : idx) out.push_back(zoo[i].id);
  return out;
}

// fast: the quickest; mid and mid_twin are exact duplicates (both stay); mid_slow ties mid's accuracy
// but is slower (dominated); slow_bad is slower and less accurate than mid (dominated); best is the most accurate.
std::vector<model_profile> small_zoo() {
  return {profile("fast", 0.80, 1.0, 1.5),    profile("mid", 0.85, 2.0, 2.5),      profile("mid_slow", 0.85, 3.0, 3.5),
          profile("slow_bad", 0.70, 5.0, 5.5), profile("best", 0.90, 4.0, 9.0),     profile("mid_twin", 0.85, 2.0, 2.5)};
}

router make_router(std::vector<model_profile> zoo, selection_policy policy, std::uint64_t seed = 7,
                   latency_metric metric = latency_metric::p50) {
  return router(std::move(zoo), {metric, seed, 5}, std::make_unique<plain_policy_mechanism>(policy));
}

// The CIFAR-10 profile of the later PSML code (accuracy %, latency ms); its front is 7 known models.
std::vector<model_profile> cifar10_zoo() {
  const std::vector<std::pair<std::string, std::pair<double, double>>> rows = {
      {"mobilenetv2_x0_5", {93.14, 37.05}}, {"mobilenetv2_x0_75", {94.08, 37.24}}, {"mobilenetv2_x1_0", {93.94, 36.74}},
      {"mobilenetv2_x1_4", {94.24, 37.28}}, {"repvgg_a0", {94.32, 41.06}},         {"repvgg_a1", {95.50, 42.77}},
      {"repvgg_a2", {95.22, 43.98}},        {"resnet20", {92.68, 17.45}},          {"resnet32", {93.70, 26.64}},
      {"resnet44", {93.92, 33.15}},         {"resnet56", {94.26, 44.26}},          {"shufflenetv2_x0_5", {90.60, 44.63}},
      {"shufflenetv2_x1_0", {93.74, 46.28}}, {"shufflenetv2_x1_5", {93.70, 45.31}}, {"shufflenetv2_x2_0", {93.68, 47.42}},
      {"vgg11_bn", {93.22, 11.07}},         {"vgg13_bn", {93.72, 12.83}},          {"vgg16_bn", {93.92, 15.14}},
      {"vgg19_bn", {94.30, 18.17}},         {"vit_small_patch16_384", {98.02, 35.86}},
      {"vit_base_patch16_384", {98.32, 36.27}}, {"vit_large_patch16_384", {98.38, 67.79}}};
  std::vector<model_profile> zoo;
  for (const auto& [id, point] : rows) zoo.push_back(profile(id, point.first / 100.0, point.second));
  return zoo;
}

}  // namespace

TEST_CASE("pareto front: dominated models dropped, exact duplicates kept, latency order") {
  const auto zoo = small_zoo();
  const auto front = pareto_front(zoo, latency_metric::p50);
  CHECK(ids(zoo, front) == std::vector<std::string>{"fast", "mid", "mid_twin", "best"});
  CHECK(dominates(zoo[1], zoo[2], latency_metric::p50));   // same accuracy, faster
  CHECK_FALSE(dominates(zoo[1], zoo[5], latency_metric::p50));  // duplicates: neither dominates
  CHECK_FALSE(dominates(zoo[5], zoo[1], latency_metric::p50));
  CHECK(dominates(zoo[1], zoo[3], latency_metric::p50));
}

TEST_CASE("pareto front: the p99 metric can change which model is dominated") {
  // By p50 'steady' is dominated by 'spiky'; by p99 'spiky' is slower, so both are on the front.
  const std::vector<model_profile> zoo = {profile("spiky", 0.9, 1.0, 10.0), profile("steady", 0.88, 2.0, 3.0)};
  CHECK(ids(zoo, pareto_front(zoo, latency_metric::p50)) == std::vector<std::string>{"spiky"});
  CHECK(ids(zoo, pareto_front(zoo, latency_metric::p99)) == std::vector<std::string>{"steady", "spiky"});
}

TEST_CASE("pareto front: the CIFAR-10 profile of the PSML code has the 7 listed models") {
  const auto zoo = cifar10_zoo();
  CHECK(ids(zoo, pareto_front(zoo, latency_metric::p50)) ==
        std::vector<std::string>{"vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn", "vit_small_patch16_384",
                                 "vit_base_patch16_384", "vit_large_patch16_384"});
}

TEST_CASE("pareto front: brute-force property on random profiles with ties") {
  rng_stream rng(2024);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<model_profile> zoo;
    const int n = 1 + static_cast<int>(rng.below(9));
    // Coarse grids make accuracy and latency ties common.
    for (int i = 0; i < n; ++i)
      zoo.push_back(profile(std::to_string(i), 0.5 + 0.1 * static_cast<double>(rng.below(5)),
                            1.0 + static_cast<double>(rng.below(5))));
    const auto front = pareto_front(zoo, latency_metric::p50);
    const std::set<std::size_t> on_front(front.begin(), front.end());
    for (std::size_t i = 0; i < zoo.size(); ++i) {
      bool dominated = false;
      for (std::size_t j = 0; j < zoo.size(); ++j)
        if (zoo[j].accuracy >= zoo[i].accuracy && zoo[j].latency_p50_ms <= zoo[i].latency_p50_ms &&
            (zoo[j].accuracy > zoo[i].accuracy || zoo[j].latency_p50_ms < zoo[i].latency_p50_ms))
          dominated = true;
      CHECK(on_front.count(i) == (dominated ? 0u : 1u));
    }
    for (std::size_t k = 1; k < front.size(); ++k) {
      CHECK(zoo[front[k - 1]].latency_p50_ms <= zoo[front[k]].latency_p50_ms);
      CHECK(zoo[front[k - 1]].accuracy <= zoo[front[k]].accuracy);  // latency order is accuracy order
    }
  }
}

TEST_CASE("feasible set: inclusive edges, absent bounds, contiguous on the front") {
  auto r = make_router(small_zoo(), selection_policy::min_latency);
  const auto& zoo = r.profiles();
  auto feasible_ids = [&](service_request req) { return ids(zoo, r.route(req).feasible); };
  CHECK(feasible_ids({}) == std::vector<std::string>{"fast", "mid", "mid_twin", "best"});
  CHECK(feasible_ids({0.85, std::nullopt}) == std::vector<std::string>{"mid", "mid_twin", "best"});  // A == acc is in
  CHECK(feasible_ids({std::nullopt, 2.0}) == std::vector<std::string>{"fast", "mid", "mid_twin"});   // L == lat is in
  CHECK(feasible_ids({0.8500001, 3.99}).empty());
  CHECK(feasible_ids({0.90, 4.0}) == std::vector<std::string>{"best"});
  CHECK(feasible_ids({0.0, 0.999}).empty());
  // Every model's own profile point selects a range that contains it (the fingerprinting "trigger").
  for (std::size_t i : r.front()) {
    const auto f = r.route({zoo[i].accuracy, zoo[i].latency_p50_ms}).feasible;
    CHECK(std::find(f.begin(), f.end(), i) != f.end());
  }
}

TEST_CASE("infeasible request: explicit status, no fallback model") {
  auto r = make_router(small_zoo(), selection_policy::uniform);
  const route_decision d = r.route({0.95, std::nullopt});
  CHECK(d.status == selection_status::infeasible);
  CHECK(d.feasible.empty());
  CHECK_FALSE(d.met_request);
  CHECK(r.route({0.5, 0.5}).status == selection_status::infeasible);
  CHECK_THROWS_WITH_AS(r.route({1.5, std::nullopt}), doctest::Contains("min_accuracy"), error);
  CHECK_THROWS_WITH_AS(r.route({std::nullopt, 0.0}), doctest::Contains("max_latency_ms"), error);
}

TEST_CASE("deterministic policies pick the documented model") {
  const service_request loose{0.82, 10.0};  // F = {mid, mid_twin, best}
  auto fastest = make_router(small_zoo(), selection_policy::min_latency);
  CHECK(fastest.profiles()[fastest.route(loose).model_index].id == "mid");  // tie with its twin: lower index
  auto accurate = make_router(small_zoo(), selection_policy::max_accuracy);
  CHECK(accurate.profiles()[accurate.route(loose).model_index].id == "best");
  CHECK(accurate.profiles()[accurate.route({std::nullopt, 2.0}).model_index].id == "mid");
  for (auto* r : {&fastest, &accurate}) {
    const route_decision d = r->route({0.0, 100.0});
    CHECK(d.status == selection_status::selected);
    CHECK(d.met_request);
  }
}

TEST_CASE("infaas-like prefers a recently used feasible model, then the fastest") {
  auto r = make_router(small_zoo(), selection_policy::infaas_like);
  const auto& zoo = r.profiles();
  CHECK(zoo[r.route({}).model_index].id == "fast");          // nothing warm yet: fastest
  CHECK(zoo[r.route({0.9, std::nullopt}).model_index].id == "best");  // only best is feasible: now warm too
  CHECK(zoo[r.route({0.82, std::nullopt}).model_index].id == "best");  // warm beats the faster cold 'mid'
  CHECK(zoo[r.route({}).model_index].id == "fast");          // both warm: the faster warm one
  // With a warm set of one model, only the latest choice stays warm.
  router one(small_zoo(), {latency_metric::p50, 1, 1}, std::make_unique<plain_policy_mechanism>(selection_policy::infaas_like));
  CHECK(one.profiles()[one.route({0.9, std::nullopt}).model_index].id == "best");
  CHECK(one.profiles()[one.route({}).model_index].id == "best");
  CHECK(one.profiles()[one.route({std::nullopt, 1.0}).model_index].id == "fast");
  CHECK(one.profiles()[one.route({}).model_index].id == "fast");
}

TEST_CASE("uniform policy: only feasible front models, roughly equal shares, deterministic by seed") {
  const service_request req{0.82, std::nullopt};  // F = {mid, mid_twin, best}
  auto r = make_router(small_zoo(), selection_policy::uniform, 11);
  std::map<std::string, int> counts;
  const int n = 3000;
  std::vector<std::size_t> first_run;
  for (int i = 0; i < n; ++i) {
    const route_decision d = r.route(req);
    REQUIRE(d.status == selection_status::selected);
    CHECK(d.met_request);
    first_run.push_back(d.model_index);
    ++counts[r.profiles()[d.model_index].id];
  }
  CHECK(counts.size() == 3);
  double chi2 = 0.0;
  for (const auto& [id, c] : counts) chi2 += (c - n / 3.0) * (c - n / 3.0) / (n / 3.0);
  CHECK(chi2 < 13.8);  // chi-square, 2 degrees of freedom, p = 0.001

  auto same = make_router(small_zoo(), selection_policy::uniform, 11);
  auto other = make_router(small_zoo(), selection_policy::uniform, 12);
  int differences = 0;
  for (int i = 0; i < n; ++i) {
    CHECK(same.route(req).model_index == first_run[i]);
    differences += other.route(req).model_index != first_run[i];
  }
  CHECK(differences > n / 2);
}

TEST_CASE("uniform policy: the draw depends on the request number, not on what came before") {
  // Requests 1 and 3 of two routers with the same seed agree even when request 2 differed.
  auto a = make_router(small_zoo(), selection_policy::uniform, 5);
  auto b = make_router(small_zoo(), selection_policy::uniform, 5);
  const service_request loose{};
  CHECK(a.route(loose).model_index == b.route(loose).model_index);
  a.route({0.9, std::nullopt});
  b.route({std::nullopt, 1.0});
  for (int i = 0; i < 20; ++i) CHECK(a.route(loose).model_index == b.route(loose).model_index);
}

TEST_CASE("pin: an administrator's choice wins over the mechanism and is reported as unmet when it is") {
  auto r = make_router(small_zoo(), selection_policy::uniform);
  const std::size_t slow_bad = *r.find("slow_bad");
  r.pin(slow_bad);
  const route_decision d = r.route({0.8, std::nullopt});
  CHECK(d.status == selection_status::selected);
  CHECK(d.pinned);
  CHECK(d.model_index == slow_bad);
  CHECK_FALSE(d.met_request);
  CHECK(ids(r.profiles(), d.feasible) == std::vector<std::string>{"fast", "mid", "mid_twin", "best"});
  r.unpin();
  const route_decision after = r.route({0.9, std::nullopt});
  CHECK_FALSE(after.pinned);
  CHECK(r.profiles()[after.model_index].id == "best");
  CHECK_THROWS_AS(r.pin(99), error);
  CHECK_FALSE(r.find("nope").has_value());
}

TEST_CASE("router rejects a zoo it cannot route over") {
  CHECK_THROWS_AS(make_router({}, selection_policy::uniform), error);
  CHECK_THROWS_WITH_AS(make_router({profile("x", 1.2, 1.0)}, selection_policy::uniform), doctest::Contains("'x'"), error);
  CHECK(parse_selection_policy("infaas-like") == selection_policy::infaas_like);
  CHECK_THROWS_AS(parse_selection_policy("random"), error);
}
