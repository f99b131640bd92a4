// What a tokenizer checkpoint holds and how its load fails: the codebook state and loss history live in
// the one checkpoint file, so a kill at any instant leaves a checkpoint that resumes (issue 16, finding 6);
// a loss.csv left ahead of its checkpoint is made whole again; an older run's two files still resume
// when their steps match; every stored tensor's shape is checked, with the file and the tensor named
// (finding 7), and a failed load leaves the model as it was.
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <string>

#include "support/temp_dir.hpp"
#include "patchzoo/backend/transfer.hpp"
#include "patchzoo/vq/vq_trainer.hpp"
#include "vq/vq_fixture.hpp"

using namespace patchzoo;
namespace fs = std::filesystem;

namespace {

const data::image_dataset& images() {
  static const data::image_dataset ds = [] {
    const auto blobs = test::blob_images<float>(16, 16, 3);
    data::image_dataset out{16, 16, std::vector<std::uint8_t>(16 * 16 * 16), std::vector<std::uint8_t>(16, 0)};
    for (std::int64_t i = 0; i < blobs.numel(); ++i)
      out.pixels[i] = static_cast<std::uint8_t>(std::lround((blobs[i] + 1.0f) * 127.5f));
    return out;
  }();
  return ds;
}

vq::vq_config config() {
  auto c = test::tiny_vq_config();
  c.mode = vq::quantizer_mode::ema;
  c.dead_code_steps = 2;
  return c;
}

vq::vq_train_config train_config(const fs::path& dir, std::int64_t steps) {
  vq::vq_train_config t;
  t.steps = steps;
  t.batch = 4;
  t.warmup = 1;
  t.checkpoint_every = 2;
  t.seed = 9;
  t.out_dir = dir;
  return t;
}

// Trains in `dir` up to step `until` of an 8-step run, resuming what is there.
std::vector<vq::vq_step_log> train_to(const fs::path& dir, std::int64_t until) {
  eigen_backend be;
  vq::vq_tokenizer<eigen_backend, float> model(config(), 4);
  vq::vq_trainer<eigen_backend> trainer(model, images(), train_config(dir, 8));
  trainer.resume(be);
  trainer.run(be, {}, until);
  return trainer.history();
}

// Writes a safetensors file holding the tensors of `from` that `keep` accepts, from's metadata plus
// `metadata`, and whatever `add` adds.
void copy_tensors(const fs::path& from, const fs::path& to, const std::function<bool(const std::string&)>& keep,
                  const std::map<std::string, std::string>& metadata = {},
                  const std::function<void(safetensors_writer&)>& add = {}) {
  const safetensors_reader r(from);
  std::deque<tensor<float>> f32;
  std::deque<tensor<double>> f64;
  std::deque<tensor<std::int32_t>> i32;
  safetensors_writer w;
  for (const auto& e : r.entries()) {
    if (!keep(e.name)) continue;
    if (e.type == dtype::f32) w.add(e.name, f32.emplace_back(r.load<float>(e.name)).cview());
    else if (e.type == dtype::f64) w.add(e.name, f64.emplace_back(r.load<double>(e.name)).cview());
    else w.add(e.name, i32.emplace_back(r.load<std::int32_t>(e.name)).cview());
  }
  for (const auto& [k, v] : r.metadata()) w.add_metadata(k, v);
  for (const auto& [k, v] : metadata) w.add_metadata(k, v);
  if (add) add(w);
  w.write(to);
}

// The checkpoint in `dir` with its history replaced by `history`.
void replace_history(const fs::path& dir, const tensor<double>& history) {
  const auto path = vq::checkpoint_path(dir);
  copy_tensors(path, path, [](const std::string& n) { return n != "history"; }, {},
               [&](safetensors_writer& w) { w.add("history", history.cview()); });
}

void check_same_history(const std::vector<vq::vq_step_log>& a, const std::vector<vq::vq_step_log>& b) {
  REQUIRE(a.size() == b.size());
  for (std::size_t s = 0; s < a.size(); ++s) {
    CAPTURE(s);
    CHECK(a[s].step == b[s].step);
    CHECK(a[s].recon_mse == b[s].recon_mse);
    CHECK(a[s].quantizer_loss == b[s].quantizer_loss);
    CHECK(a[s].restarted == b[s].restarted);
  }
}

}  // namespace

TEST_CASE("vq checkpoint: one file holds the codebook state and the history; loss.csv ahead of it is repaired") {
  temp_dir whole, killed;
  const auto reference = train_to(whole.path, 8);

  train_to(killed.path, 4);
  CHECK(!fs::exists(vq::codebook_state_path(killed.path)));
  {
    const safetensors_reader r(vq::checkpoint_path(killed.path));
    CHECK(r.contains("codebook_state/last_used"));
    CHECK(r.contains("codebook_state/ema_sum"));
    CHECK(r.entry("history").shape == std::vector<std::int64_t>{4, vq::history_columns});
  }
  // A kill after the step-6 save wrote loss.csv but before its checkpoint's rename: the step-4
  // checkpoint and a loss.csv of 6 rows.
  const auto at_step_4 = read_file_bytes(vq::checkpoint_path(killed.path));
  train_to(killed.path, 6);
  write_file_bytes(vq::checkpoint_path(killed.path), at_step_4);

  check_same_history(train_to(killed.path, 8), reference);
  CHECK(read_file_bytes(killed / "loss.csv") == read_file_bytes(whole / "loss.csv"));
  CHECK(read_file_bytes(vq::checkpoint_path(killed.path)) == read_file_bytes(vq::checkpoint_path(whole.path)));
}

TEST_CASE("vq checkpoint: an older run's checkpoint + codebook_state pair resumes when the steps match") {
  temp_dir whole, legacy;
  const auto reference = train_to(whole.path, 8);
  train_to(legacy.path, 4);
  // Split the step-4 checkpoint into the two files older versions wrote.
  const auto ckpt = vq::checkpoint_path(legacy.path), state = vq::codebook_state_path(legacy.path);
  const auto in_state_file = [](const std::string& n) { return n == "history" || n.rfind("codebook_state/", 0) == 0; };
  copy_tensors(ckpt, state, in_state_file);
  copy_tensors(ckpt, ckpt, [&](const std::string& n) { return !in_state_file(n); });

  SUBCASE("matching steps: resumes, and the next save writes one file") {
    check_same_history(train_to(legacy.path, 8), reference);
    CHECK(!fs::exists(state));
    CHECK(read_file_bytes(ckpt) == read_file_bytes(vq::checkpoint_path(whole.path)));
  }
  SUBCASE("a codebook state of another step is refused, naming both files") {
    copy_tensors(state, state, [](const std::string&) { return true; }, {{"step", "2"}});
    CHECK_THROWS_WITH_AS(train_to(legacy.path, 8),
                         doctest::Contains(("codebook_state.safetensors is for step 2 but " + ckpt.string() +
                                            " is at step 4")
                                               .c_str()),
                         error);
  }
}

TEST_CASE("vq checkpoint: every stored tensor's shape is checked, naming file and tensor; the model is untouched") {
  temp_dir dir;
  train_to(dir.path, 2);
  const auto path = vq::checkpoint_path(dir.path).string();
  eigen_backend be;
  vq::vq_tokenizer<eigen_backend, float> model(config(), 4);
  const auto before = download(be, std::as_const(model).params().flat());
  const auto load_fails_with = [&](const std::string& message) {
    vq::vq_trainer<eigen_backend> trainer(model, images(), train_config(dir.path, 8));
    CHECK_THROWS_WITH_AS(trainer.resume(be), doctest::Contains(message.c_str()), error);
    CHECK(trainer.step() == 0);
    CHECK(trainer.history().empty());
    const auto after = download(be, std::as_const(model).params().flat());
    CHECK(std::equal(before.data(), before.data() + before.numel(), after.data()));
  };

  SUBCASE("history [2, 1]: too few columns (read out of bounds before)") {
    replace_history(dir.path, tensor<double>(shape_t{2, 1}));
    load_fails_with(path + ": tensor 'history' has shape [2, 1], expected [2, 7]");
  }
  SUBCASE("history of rank 1 (vector::_M_range_check before)") {
    replace_history(dir.path, tensor<double>(shape_t{14}));
    load_fails_with(path + ": tensor 'history' has shape [14], expected [2, 7]");
  }
  SUBCASE("history with a row per step missing") {
    replace_history(dir.path, tensor<double>(shape_t{1, 7}));
    load_fails_with("tensor 'history' has shape [1, 7], expected [2, 7]");
  }
  SUBCASE("no history") {
    copy_tensors(path, path, [](const std::string& n) { return n != "history"; });
    load_fails_with("tensor 'history' not found");
  }
  SUBCASE("a codebook-state tensor of the wrong shape") {
    copy_tensors(path, path, [](const std::string& n) { return n != "codebook_state/ema_sum"; }, {},
                 [](safetensors_writer& w) {
                   static const tensor<double> wrong(shape_t{16, 2});
                   w.add("codebook_state/ema_sum", wrong.cview());
                 });
    load_fails_with("tensor 'codebook_state/ema_sum': shape mismatch: expected [16, 3] (destination), found [16, 2]");
  }
}
