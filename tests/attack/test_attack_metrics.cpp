// Attack metrics on hand-made arrays: accuracy, fidelity, goodput with both denominators, the l1
// utility, mean and standard deviation over seeds, and the errors that name the offending tensor.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "patchzoo/attack/attack_metrics.hpp"

using namespace patchzoo;
using namespace patchzoo::attack;

namespace {

tensor<float> rows(std::int64_t n, std::int64_t c, const std::vector<float>& v) { return tensor<float>(shape_t{n, c}, v); }

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const error& e) {
    return e.what();
  }
  return "";
}

psml::service_request spec(double accuracy, double latency_ms) { return {accuracy, latency_ms}; }

}  // namespace

TEST_CASE("attack metrics: accuracy is the share of rows whose first top class is the label") {
  // Rows' top classes: 2, 0, 1, 0 (row 3 ties classes 0 and 2: the first wins).
  const auto p = rows(4, 3, {0.1f, 0.2f, 0.7f, 0.5f, 0.3f, 0.2f, 0.2f, 0.6f, 0.2f, 0.4f, 0.2f, 0.4f});
  CHECK(accuracy(p, tensor<std::int32_t>(shape_t{4}, {2, 0, 1, 0})) == doctest::Approx(1.0));
  CHECK(accuracy(p, tensor<std::int32_t>(shape_t{4}, {2, 1, 1, 2})) == doctest::Approx(0.5));
  CHECK(accuracy(p, tensor<std::int32_t>(shape_t{4}, {0, 1, 2, 1})) == doctest::Approx(0.0));
}

TEST_CASE("attack metrics: fidelity is top-1 agreement, 1 against itself and symmetric") {
  const auto s = rows(4, 3, {0.1f, 0.2f, 0.7f, 0.5f, 0.3f, 0.2f, 0.2f, 0.6f, 0.2f, 0.4f, 0.2f, 0.4f});
  // Same top class on rows 0 and 3 only (different probabilities do not matter).
  const auto v = rows(4, 3, {0.0f, 0.0f, 1.0f, 0.1f, 0.8f, 0.1f, 0.9f, 0.05f, 0.05f, 0.9f, 0.05f, 0.05f});
  CHECK(fidelity(s, s) == doctest::Approx(1.0));
  CHECK(fidelity(s, v) == doctest::Approx(0.5));
  CHECK(fidelity(v, s) == doctest::Approx(0.5));
}

TEST_CASE("attack metrics: shape mismatches and bad labels name the tensor") {
  const auto p = rows(2, 3, {0.1f, 0.2f, 0.7f, 0.5f, 0.3f, 0.2f});
  CHECK(error_of([&] { accuracy(p, tensor<std::int32_t>(shape_t{3}, {0, 1, 2})); }).find("labels [3]") !=
        std::string::npos);
  CHECK(error_of([&] { accuracy(p, tensor<std::int32_t>(shape_t{2}, {0, 3})); }).find("labels[1] = 3") !=
        std::string::npos);
  CHECK(error_of([&] { accuracy(tensor<float>(shape_t{6}), tensor<std::int32_t>(shape_t{6})); })
            .find("probabilities must be [N, C]") != std::string::npos);
  CHECK(error_of([&] { fidelity(p, rows(2, 2, {0, 1, 1, 0})); }).find("victim_probabilities [2, 2]") !=
        std::string::npos);
  CHECK(error_of([&] { fidelity(tensor<float>(shape_t{2, 3, 1}), p); }).find("surrogate_probabilities") !=
        std::string::npos);
}

TEST_CASE("attack metrics: goodput over all queries and over answered queries") {
  // Five queries: two met, one served but too slow, one infeasible and unanswered, one feasible but
  // unanswered (a permute-and-flip run that stopped on nothing).
  const std::vector<served_query> w = {
      {spec(0.85, 0.01), true, served_model{0.90, 0.008}},
      {spec(0.85, 0.01), true, served_model{0.85, 0.010}},  // exactly on both bounds: met
      {spec(0.85, 0.01), true, served_model{0.90, 0.020}},
      {spec(0.99, 0.01), false, std::nullopt},
      {spec(0.80, 0.05), true, std::nullopt},
  };
  const goodput_result g = goodput(w);
  CHECK(g.queries == 5);
  CHECK(g.answered == 3);
  CHECK(g.met == 2);
  CHECK(g.infeasible == 1);
  CHECK(g.over_all == doctest::Approx(2.0 / 5.0));
  CHECK(g.over_answered == doctest::Approx(2.0 / 3.0));
  CHECK(g.infeasible_fraction == doctest::Approx(0.2));

  // A request without bounds is met by any answer; nothing answered gives 0 under both denominators.
  CHECK(goodput({{psml::service_request{}, true, served_model{0.1, 50}}}).over_all == doctest::Approx(1.0));
  const goodput_result none = goodput({{spec(0.5, 1), true, std::nullopt}});
  CHECK(none.over_all == 0.0);
  CHECK(none.over_answered == 0.0);
  CHECK(error_of([] { goodput({}); }).find("no queries") != std::string::npos);
}

TEST_CASE("attack metrics: l1 utility is 1 on met requests and loses 1/2 per unit of scaled shortfall") {
  CHECK(l1_utility(spec(0.85, 10), {0.90, 5}) == doctest::Approx(1.0));
  // 4 points of accuracy short: -0.02; 30 ms over at the code's 100 ms scale: -0.15.
  CHECK(l1_utility(spec(0.90, 10), {0.86, 40}) == doctest::Approx(1.0 - 0.02 - 0.15));
  // A sub-millisecond zoo with a 0.1 ms scale: 0.05 ms over costs 0.25.
  CHECK(l1_utility(spec(0.80, 0.05), {0.85, 0.10}, 0.1) == doctest::Approx(0.75));
  CHECK(l1_utility(psml::service_request{}, {0.1, 1000}) == doctest::Approx(1.0));
  CHECK(error_of([] { l1_utility(spec(0.8, 1), {0.8, 1}, 0.0); }).find("latency_scale_ms") != std::string::npos);

  // Mean over answered queries only: (1 + 0.83) / 2; the unanswered query does not count.
  const std::vector<served_query> w = {{spec(0.85, 10), true, served_model{0.90, 5}},
                                       {spec(0.90, 10), true, served_model{0.86, 40}},
                                       {spec(0.99, 1), false, std::nullopt}};
  CHECK(mean_utility(w) == doctest::Approx((1.0 + 0.83) / 2.0));
  CHECK(mean_utility({{spec(0.99, 1), false, std::nullopt}}) == 0.0);
}

TEST_CASE("attack metrics: mean and sample standard deviation over seeds") {
  const mean_and_std r = mean_std({0.80, 0.84, 0.86, 0.90});
  CHECK(r.count == 4);
  CHECK(r.mean == doctest::Approx(0.85));
  // Squared deviations 0.0025 + 0.0001 + 0.0001 + 0.0025 = 0.0052, over n - 1 = 3.
  CHECK(r.stddev == doctest::Approx(std::sqrt(0.0052 / 3.0)));
  CHECK(mean_std({0.7}).stddev == 0.0);
  CHECK(error_of([] { mean_std({}); }).find("no values") != std::string::npos);
}
