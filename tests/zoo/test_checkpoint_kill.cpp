// Kill test of train_classifier's checkpoints: a tiny MLP trains on synthetic images with a checkpoint
// after every step in a child process that is SIGKILLed at seeded random instants. Every kill leaves a
// checkpoint that loads, and the run completed after the kills ends bit for bit where an uninterrupted
// run does (weights, moments, data position, loss sums); a checkpoint of another run is refused.
#include <doctest/doctest.h>

#include <filesystem>
#include <set>

#include "support/temp_dir.hpp"
#include "patchzoo/backend/eigen/eigen_backend.hpp"
#include "patchzoo/zoo/make_classifier.hpp"
#include "patchzoo/zoo/training.hpp"
#include "support/kill_harness.hpp"

using namespace patchzoo;
using namespace patchzoo::zoo;
namespace fs = std::filesystem;

namespace {

constexpr const char* child_case = "kill child: zoo classifier";

// 40 seeded noise images whose mean brightness follows the label, so that the loss can fall.
const data::image_dataset& kill_images() {
  static const data::image_dataset ds = [] {
    data::image_dataset out{28, 28, std::vector<std::uint8_t>(40 * 28 * 28), std::vector<std::uint8_t>(40)};
    rng_stream r(5);
    for (std::size_t i = 0; i < 40; ++i) {
      out.labels[i] = static_cast<std::uint8_t>(i % 10);
      for (std::size_t p = 0; p < 28 * 28; ++p)
        out.pixels[i * 28 * 28 + p] = static_cast<std::uint8_t>(r.below(128) + 12 * (i % 10));
    }
    return out;
  }();
  return ds;
}

const training_config kill_training{.epochs = 6, .batch = 8, .lr = 3e-3, .weight_decay = 1e-4};  // 30 steps

training_checkpoint checkpoint_in(const fs::path& dir) { return {dir / "checkpoint.safetensors", 1}; }

training_result train_in(const fs::path& dir, std::uint64_t seed = 3) {
  eigen_backend be;
  auto model = make_classifier<eigen_backend, float>(mlp({8}), 1);
  return train_classifier(be, *model, kill_images(), kill_training, seed, {}, checkpoint_in(dir));
}

// Loads dir's checkpoint into a fresh model (throws when it does not load); returns its step.
std::int64_t load_in(const fs::path& dir) {
  eigen_backend be;
  auto model = make_classifier<eigen_backend, float>(mlp({8}), 1);
  training::adamw_optimizer<eigen_backend, float> opt(model->layout(), {});
  training::load_checkpoint(be, checkpoint_in(dir).path, model->params(), opt);
  return opt.steps();
}

}  // namespace

TEST_CASE("kill child: zoo classifier") {
  const auto dir = test::kill_child_dir();
  if (!dir.empty()) train_in(dir);  // does nothing unless run as the kill test's child
}

TEST_CASE("zoo training kill test: SIGKILL at random instants, then the resumed run equals an uninterrupted one") {
  temp_dir root("kill");
  const auto whole = root.path / "whole", killed = root.path / "killed";
  fs::create_directories(whole);
  fs::create_directories(killed);
  const auto took = test::run_child(child_case, whole, root.path / "whole.log");

  std::set<std::int64_t> resumed_at;
  const int hits = test::kill_repeatedly(child_case, killed, root.path / "killed.log", 31, 8, took, [&] {
    if (fs::exists(checkpoint_in(killed).path)) resumed_at.insert(load_in(killed));
  });
  MESSAGE(hits, " of 8 kills hit a running child; the checkpoints left were at ", resumed_at.size(),
          " different steps; an uninterrupted run takes ", took.count() / 1000, " ms");
  CHECK(hits >= 1);

  test::run_child(child_case, killed, root.path / "killed.log");
  CHECK(load_in(killed) == 30);
  test::check_same_safetensors(checkpoint_in(whole).path, checkpoint_in(killed).path);
  CHECK(test::temporaries_in(killed).empty());
}

TEST_CASE("zoo training: a resumed run reports the same result; a checkpoint of another run is refused") {
  temp_dir whole, split;
  const auto reference = train_in(whole.path);
  {
    eigen_backend be;
    auto model = make_classifier<eigen_backend, float>(mlp({8}), 1);
    std::int64_t steps = 0;
    CHECK_THROWS(train_classifier(be, *model, kill_images(), kill_training, 3,
                                  [&](std::int64_t, std::int64_t, double) {
                                    if (++steps == 12) throw std::runtime_error("interrupted");
                                  },
                                  checkpoint_in(split.path)));
  }
  CHECK(load_in(split.path) == 11);  // step 12's checkpoint comes after the callback that interrupted it
  const auto resumed = train_in(split.path);
  CHECK(resumed.steps == reference.steps);
  CHECK(resumed.first_loss == reference.first_loss);
  CHECK(resumed.final_loss == reference.final_loss);
  CHECK_THROWS_WITH_AS(train_in(split.path, 4), doctest::Contains("is a checkpoint of another run"), error);
}
