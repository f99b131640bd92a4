// Kill test of the tokenizer's checkpoints: a tiny EMA-mode tokenizer with dead-code restarts trains
// with a checkpoint after every step in a child process that is SIGKILLed at seeded random instants.
// Every kill leaves a checkpoint that resumes, and the run completed after the kills ends bit for bit
// where an uninterrupted run does (parameters, moments, codebook state, loss history, loss.csv).
#include <filesystem>
#include <set>

#include "support/temp_dir.hpp"
#include "patchzoo/vq/vq_trainer.hpp"
#include "support/kill_harness.hpp"
#include "vq/vq_fixture.hpp"

using namespace patchzoo;
namespace fs = std::filesystem;

namespace {

constexpr const char* child_case = "kill child: vq tokenizer";

// 24 blob images of 16 x 16 as 8-bit pixels.
const data::image_dataset& kill_images() {
  static const data::image_dataset ds = [] {
    const auto blobs = test::blob_images<float>(24, 16, 7);
    data::image_dataset out{16, 16, std::vector<std::uint8_t>(24 * 16 * 16), std::vector<std::uint8_t>(24, 0)};
    for (std::int64_t i = 0; i < blobs.numel(); ++i)
      out.pixels[i] = static_cast<std::uint8_t>(std::lround((blobs[i] + 1.0f) * 127.5f));
    return out;
  }();
  return ds;
}

vq::vq_config kill_config() {
  auto c = test::tiny_vq_config();
  c.mode = vq::quantizer_mode::ema;
  c.dead_code_steps = 3;
  return c;
}

vq::vq_train_config kill_training(const fs::path& dir) {
  vq::vq_train_config t;
  t.steps = 30;
  t.batch = 4;
  t.lr = 3e-3;
  t.warmup = 3;
  t.checkpoint_every = 1;
  t.seed = 5;
  t.out_dir = dir;
  return t;
}

// Resumes a trainer from dir's checkpoint (throws when it does not load); returns its step.
std::int64_t resume_in(eigen_backend& be, const fs::path& dir) {
  vq::vq_tokenizer<eigen_backend, float> model(kill_config(), 3);
  vq::vq_trainer<eigen_backend> trainer(model, kill_images(), kill_training(dir));
  return trainer.resume(be);
}

}  // namespace

TEST_CASE("kill child: vq tokenizer") {
  const auto dir = test::kill_child_dir();
  if (dir.empty()) return;  // run only as the kill test's child
  eigen_backend be;
  vq::vq_tokenizer<eigen_backend, float> model(kill_config(), 3);
  vq::vq_trainer<eigen_backend> trainer(model, kill_images(), kill_training(dir));
  trainer.resume(be);
  trainer.run(be);
}

TEST_CASE("vq checkpoint kill test: SIGKILL at random instants, then the resumed run equals an uninterrupted one") {
  temp_dir root("kill");
  const auto whole = root.path / "whole", killed = root.path / "killed";
  fs::create_directories(whole);
  fs::create_directories(killed);
  const auto took = test::run_child(child_case, whole, root.path / "whole.log");

  eigen_backend be;
  std::set<std::int64_t> resumed_at;
  const int hits = test::kill_repeatedly(child_case, killed, root.path / "killed.log", 16, 8, took, [&] {
    if (fs::exists(vq::checkpoint_path(killed))) resumed_at.insert(resume_in(be, killed));
  });
  MESSAGE(hits, " of 8 kills hit a running child; the checkpoints left resumed at ", resumed_at.size(),
          " different steps; an uninterrupted run takes ", took.count() / 1000, " ms");
  CHECK(hits >= 1);

  test::run_child(child_case, killed, root.path / "killed.log");
  CHECK(resume_in(be, killed) == 30);
  test::check_same_safetensors(vq::checkpoint_path(whole), vq::checkpoint_path(killed));
  CHECK(read_file_bytes(killed / "loss.csv") == read_file_bytes(whole / "loss.csv"));
  CHECK(test::temporaries_in(killed).empty());
  CHECK(!fs::exists(vq::codebook_state_path(killed)));
}
