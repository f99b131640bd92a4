// The experiment end to end on a small budget: a synthetic zoo of linear models served in-process, the
// real Fashion-MNIST attacker split, one seed. Checks the shape of the paper's
// result: single >= fingerprint - 1 point > naive, and a strong defense costs goodput.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <map>

#include "attack/attack_fixtures.hpp"
#include "support/temp_dir.hpp"
#include "patchzoo/attack/attack_experiment.hpp"
#include "patchzoo/attack/experiment_report.hpp"

using namespace patchzoo;
using namespace patchzoo::attack;

namespace {

const data::fashion_mnist& dataset() {
  static const data::fashion_mnist ds = data::load_fashion_mnist();
  return ds;
}

experiment_config small_config() {
  experiment_config c;
  c.seeds = {4};
  c.victim_ranks = {0};
  c.budgets = {{"tiny", 300}};
  c.sweep_budget = 0;
  c.evaluation_images = 500;
  c.workload_queries = 500;
  c.naive_margin = 0.15;  // the synthetic front is spread over 25 points: admit about two models
  c.surrogate.architecture = "m0";
  c.surrogate.epochs = 15;
  c.fingerprint.census_requests = 8;
  psml::defense_config pf;
  pf.kind = psml::defense_kind::permute_and_flip;
  pf.epsilon = 1.0;
  c.sweep = {{"none", 0, {}}, {"permute-and-flip", 1.0, pf}};
  return c;
}

}  // namespace

TEST_CASE("experiment: single >= fingerprint - 1 point > naive on a small budget, and a strong defense costs goodput") {
  auto executor = std::make_shared<synthetic_executor>(synthetic_profiles({.front_models = 4, .dominated_models = 1, .seed = 8}), 8);
  attack_experiment experiment(executor, in_process_targets(executor), small_config(), dataset());
  const experiment_result r = experiment.run();
  REQUIRE(r.front_ids.size() == 4);
  std::map<std::string, extraction_row> undefended;
  for (const extraction_row& row : r.extraction)
    if (row.family == "none" && row.granularity == "per-request" && row.defense == "none" &&
        undefended.find(row.mode) == undefended.end())
      undefended[row.mode] = row;
  REQUIRE(undefended.size() == 4);
  for (const auto& [mode, row] : undefended) {
    const std::string& name = mode;  // CAPTURE is a lambda, and clang 14 cannot capture a structured binding
    CAPTURE(name);
    CHECK(row.queries == 300);
  }
  CHECK(undefended["single"].victim_share == 1.0);
  CHECK(undefended["fingerprint"].victim_share == 1.0);
  CHECK(undefended["fingerprint+filter"].victim_share == 1.0);
  CHECK(undefended["naive"].victim_share < 0.75);  // the naive spec admits several models
  CHECK(undefended["fingerprint"].fidelity >= undefended["single"].fidelity - 0.01);
  CHECK(undefended["fingerprint"].fidelity > undefended["naive"].fidelity + 0.02);
  // The fingerprinter found the whole front and the true victim.
  CHECK(r.fingerprints.front().models_found == 4);
  CHECK(r.fingerprints.front().found_victim);
  // Permute-and-flip at epsilon 1 is nearly uniform over the front: the trigger no longer pins the victim,
  // the plain attack's fidelity falls, goodput falls below the undefended server's.
  REQUIRE(r.goodput.size() == 2);
  CHECK(r.goodput[0].goodput_answered == 1.0);
  CHECK(r.goodput[1].goodput_answered < 0.8);
  const auto pf = [&](const char* mode, const char* granularity) {
    for (const extraction_row& row : r.extraction)
      if (row.family == "permute-and-flip" && row.mode == mode && row.granularity == granularity) return row;
    FAIL("missing row");
    return extraction_row{};
  };
  CHECK(pf("fingerprint", "per-request").victim_share < 0.6);
  CHECK(pf("fingerprint", "per-request").fidelity < undefended["fingerprint"].fidelity - 0.02);
  // Per-request selection: the filter keeps only victim answers. Per-input: the probe no longer vouches
  // for the rest of the batch, so the kept answers are mixed again.
  CHECK(pf("fingerprint+filter", "per-request").fidelity > pf("fingerprint", "per-request").fidelity);
  CHECK(pf("fingerprint+filter", "per-request").kept_victim_share == 1.0);
  CHECK(pf("fingerprint+filter", "per-input").kept_victim_share < 0.6);
  CHECK(undefended["naive"].kept_victim_share == doctest::Approx(undefended["naive"].victim_share));

  // The report: the JSON reads back to the same tables, and the plots are written.
  std::vector<fingerprint_cost_row> cost = fingerprint_cost({2, 3}, {0.01}, {}, 1), cost_back;
  const experiment_result back = result_from_json(nlohmann::json::parse(to_json(r, cost).dump()), cost_back);
  CHECK(extraction_table(back) == extraction_table(r));
  CHECK(defense_table(back) == defense_table(r));
  CHECK(cost_table(cost_back) == cost_table(cost));
  const temp_dir scratch("attack_report");
  const std::filesystem::path& dir = scratch.path;
  write_experiment_report(dir, r, cost, "header");
  CHECK(std::filesystem::file_size(dir / "psml_protection_fidelity.png") > 1000);
  CHECK(std::filesystem::file_size(dir / "psml_protection_trigger.png") > 1000);
}
