// Kill tests of the image-token trainer's checkpoints, for each of its models: the entropy model
// (unconditional LlamaGen), the LlamaGen baseline and DPAR. A tiny model trains with a checkpoint
// after every step in a child process that is SIGKILLed at seeded random instants; every kill leaves
// a checkpoint (and a loss.csv) that resumes, and the run completed after the kills ends bit for bit
// where an uninterrupted run does. Only the wall-clock seconds may differ.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "dpar/tiny_pipeline.hpp"
#include "patchzoo/backend/xtensor/xtensor_backend.hpp"
#include "patchzoo/dpar/trainer.hpp"
#include "support/kill_harness.hpp"
#include "support/temp_dir.hpp"

using namespace patchzoo;
namespace fs = std::filesystem;

namespace {

using llama = dpar::llamagen_model<xtensor_backend, float>;
using dpar_m = dpar::dpar_model<xtensor_backend, float>;

const data::token_file& kill_tokens() {
  static const auto f = test::tiny_token_file(10, 3);
  return f;
}

const dpar::entropy_file& kill_entropies() {
  static const auto e = test::ramp_entropies(kill_tokens());
  return e;
}

dpar::train_config kill_training(const fs::path& dir) {
  dpar::train_config cfg;
  cfg.steps = 24;
  cfg.batch = 4;  // 10 images: epochs of 2 batches, so the run crosses many epochs
  cfg.lr = 3e-3;
  cfg.warmup = 2;
  cfg.cosine = true;
  cfg.checkpoint_every = 1;
  cfg.seed = 11;
  cfg.out_dir = dir;
  return cfg;
}

// A trainer of `kind` ("entropy", "baseline", "dpar") in dir, resumed from what is there; returns its step.
std::int64_t train_in(const std::string& kind, const fs::path& dir, bool run) {
  xtensor_backend be;
  const auto go = [&](auto& model, const dpar::entropy_file* ent, dpar::patcher_config pc) {
    dpar::trainer<xtensor_backend, std::remove_reference_t<decltype(model)>> t(model, kill_tokens(),
                                                                               kill_training(dir), ent, pc);
    t.resume(be);
    if (run) t.run(be);
    return t.step();
  };
  if (kind == "dpar") {
    dpar_m model(test::tiny_dpar_config(), 2);
    return go(model, &kill_entropies(), test::tiny_patcher());
  }
  llama model(test::tiny_llamagen_config(kind == "baseline"), 2);
  return go(model, nullptr, {});
}

void kill_child(const std::string& kind) {
  const auto dir = test::kill_child_dir();
  if (!dir.empty()) train_in(kind, dir, true);  // does nothing unless run as a kill test's child
}

// loss.csv without its wall-clock "seconds" column.
std::vector<std::string> csv_without_seconds(const fs::path& path) {
  std::ifstream in(path);
  std::vector<std::string> rows;
  for (std::string line; std::getline(in, line);) {
    std::istringstream s(line);
    std::string field, row;
    for (int column = 0; std::getline(s, field, ','); ++column)
      if (column != 5) row += field + ",";
    rows.push_back(row);
  }
  return rows;
}

void kill_test(const std::string& kind, std::uint64_t seed) {
  const std::string child_case = "kill child: dpar trainer " + kind;
  temp_dir root("kill");
  const auto whole = root.path / "whole", killed = root.path / "killed";
  fs::create_directories(whole);
  fs::create_directories(killed);
  const auto took = test::run_child(child_case, whole, root.path / "whole.log");

  std::set<std::int64_t> resumed_at;
  const int hits = test::kill_repeatedly(child_case, killed, root.path / "killed.log", seed, 6, took, [&] {
    if (fs::exists(dpar::trainer_checkpoint_path(killed))) resumed_at.insert(train_in(kind, killed, false));
  });
  MESSAGE(kind, ": ", hits, " of 6 kills hit a running child; the checkpoints left resumed at ", resumed_at.size(),
          " different steps; an uninterrupted run takes ", took.count() / 1000, " ms");
  CHECK(hits >= 1);

  test::run_child(child_case, killed, root.path / "killed.log");
  CHECK(train_in(kind, killed, false) == 24);
  test::check_same_safetensors(dpar::trainer_checkpoint_path(whole), dpar::trainer_checkpoint_path(killed),
                               {"train.seconds"});
  const auto rows = csv_without_seconds(killed / "loss.csv");
  CHECK(rows.size() == 25);
  CHECK(rows == csv_without_seconds(whole / "loss.csv"));
  CHECK(test::temporaries_in(killed).empty());
}

}  // namespace

TEST_CASE("kill child: dpar trainer entropy") { kill_child("entropy"); }
TEST_CASE("kill child: dpar trainer baseline") { kill_child("baseline"); }
TEST_CASE("kill child: dpar trainer dpar") { kill_child("dpar"); }

TEST_CASE("dpar trainer kill test: entropy model, SIGKILL at random instants, resumed run equals an uninterrupted one") {
  kill_test("entropy", 21);
}
TEST_CASE("dpar trainer kill test: LlamaGen baseline, SIGKILL at random instants, resumed run equals an uninterrupted one") {
  kill_test("baseline", 22);
}
TEST_CASE("dpar trainer kill test: DPAR, SIGKILL at random instants, resumed run equals an uninterrupted one") {
  kill_test("dpar", 23);
}
