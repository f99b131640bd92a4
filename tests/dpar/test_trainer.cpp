// The image-token trainer: entropy files (round trip, corruption), the seeded data order, exact resume
// for all three models, the logs and FLOP counts, and models rebuilt from checkpoint metadata.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <vector>

#include "dpar/tiny_pipeline.hpp"
#include "support/temp_dir.hpp"
#include "patchzoo/backend/xtensor/xtensor_backend.hpp"
#include "patchzoo/dpar/entropy_file.hpp"
#include "patchzoo/dpar/model_checkpoint.hpp"
#include "patchzoo/dpar/trainer.hpp"

using namespace patchzoo;
namespace fs = std::filesystem;

namespace {

std::vector<char> bytes_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& p, const std::vector<char>& b) {
  std::ofstream out(p, std::ios::binary);
  out.write(b.data(), static_cast<std::streamsize>(b.size()));
}

template <class Model, class Make>
void check_resume_exact(const std::string& name, Make make, const dpar::entropy_file* ent, dpar::patcher_config pc) {
  xtensor_backend be;
  const auto data = test::tiny_token_file(10, 3);
  dpar::train_config cfg;
  cfg.steps = 6;
  cfg.batch = 4;  // 10 images: an epoch is 2 batches, so the run crosses epochs
  cfg.lr = 3e-3;
  cfg.warmup = 2;
  cfg.cosine = true;
  cfg.seed = 11;
  const temp_dir full_dir("dpar_trainer_" + name + "_full"), split_dir("dpar_trainer_" + name + "_split");
  cfg.out_dir = full_dir.path;
  auto full_model = make();
  dpar::trainer<xtensor_backend, Model> full(*full_model, data, cfg, ent, pc);
  full.run(be);

  cfg.out_dir = split_dir.path;
  cfg.checkpoint_every = 3;
  {
    auto first_model = make();
    dpar::trainer<xtensor_backend, Model> first(*first_model, data, cfg, ent, pc);
    first.run(be, {}, 4);  // a checkpoint at step 3, then one step that the resumed run must redo
  }
  auto second_model = make();
  dpar::trainer<xtensor_backend, Model> second(*second_model, data, cfg, ent, pc);
  CHECK(second.resume(be) == 3);
  second.run(be);
  REQUIRE(second.history().size() == full.history().size());
  for (std::size_t i = 0; i < full.history().size(); ++i) {
    CHECK(second.history()[i].loss == full.history()[i].loss);
    CHECK(second.history()[i].grad_norm == full.history()[i].grad_norm);
    CHECK(second.history()[i].tokens == full.history()[i].tokens);
    CHECK(second.history()[i].flops == doctest::Approx(full.history()[i].flops));
  }
  CHECK(full.history().back().loss < full.history().front().loss);
  const auto p1 = download(be, std::as_const(full_model->params()).flat());
  const auto p2 = download(be, std::as_const(second_model->params()).flat());
  CHECK(std::equal(p1.data(), p1.data() + p1.numel(), p2.data()));
  std::ifstream csv(cfg.out_dir / "loss.csv");
  std::string header;
  std::getline(csv, header);
  CHECK(header == "step,loss,lr,grad_norm,tokens,seconds,flops");
  int rows = 0;
  for (std::string line; std::getline(csv, line);) ++rows;
  CHECK(rows == 6);
}

}  // namespace

TEST_CASE("entropy file: round trip, header checks, corruption is named") {
  const auto tokens = test::tiny_token_file(5, 1);
  const auto e = test::ramp_entropies(tokens);
  const temp_dir dir("dpar_entropy_file");
  const fs::path path = dir / "a.entropy";
  dpar::write_entropy_file(path, e);
  const auto back = dpar::read_entropy_file(path);
  CHECK(back.grid_h == 3);
  CHECK(back.grid_w == 4);
  CHECK(back.count() == 5);
  CHECK(back.values == e.values);
  CHECK_NOTHROW(dpar::check_entropy_matches(back, tokens, "test"));
  CHECK_THROWS_WITH_AS(dpar::check_entropy_matches(back, test::tiny_token_file(4, 1), "test"),
                       doctest::Contains("holds 5 grids of 3x4 but the token file holds 4"), patchzoo::error);
  CHECK(fs::file_size(path) == dpar::entropy_file_header_bytes + 5 * 12 * 4);

  const auto good = bytes_of(path);
  auto bad = good;
  bad[0] = 'X';
  write_bytes(dir / "magic.entropy", bad);
  CHECK_THROWS_WITH_AS(dpar::read_entropy_file(dir / "magic.entropy"), doctest::Contains("field magic"), patchzoo::error);
  bad = good;
  bad[8] = 2;
  write_bytes(dir / "version.entropy", bad);
  CHECK_THROWS_WITH_AS(dpar::read_entropy_file(dir / "version.entropy"), doctest::Contains("field version is 2"),
                       patchzoo::error);
  bad.assign(good.begin(), good.end() - 3);
  write_bytes(dir / "short.entropy", bad);
  CHECK_THROWS_WITH_AS(dpar::read_entropy_file(dir / "short.entropy"), doctest::Contains("field count 5"),
                       patchzoo::error);
  bad = good;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(bad.data() + dpar::entropy_file_header_bytes + 4 * 13, &nan, 4);  // image 1, position 1
  write_bytes(dir / "nan.entropy", bad);
  CHECK_THROWS_WITH_AS(dpar::read_entropy_file(dir / "nan.entropy"), doctest::Contains("of image 1 (position 1)"),
                       patchzoo::error);
  CHECK_THROWS_WITH_AS(dpar::read_entropy_file(dir / "missing.entropy"), doctest::Contains("cannot open"),
                       patchzoo::error);
}

TEST_CASE("token order: every epoch is a fresh permutation, whole batches, seekable") {
  dpar::token_order a(10, 3, 5);
  std::vector<std::vector<std::int64_t>> epochs(3);
  for (int b = 0; b < 9; ++b) {
    const auto idx = a.next();
    CHECK(idx.size() == 3);
    epochs[static_cast<std::size_t>(b / 3)].insert(epochs[static_cast<std::size_t>(b / 3)].end(), idx.begin(), idx.end());
  }
  for (const auto& e : epochs) CHECK(std::set<std::int64_t>(e.begin(), e.end()).size() == 9);  // no repeats
  CHECK(epochs[0] != epochs[1]);
  dpar::token_order b(10, 3, 5);
  b.seek(1, 3);
  const auto idx = b.next();
  CHECK(std::vector<std::int64_t>(epochs[1].begin() + 3, epochs[1].begin() + 6) == idx);
  CHECK_THROWS_AS(dpar::token_order(2, 3, 0), patchzoo::error);
}

TEST_CASE("trainer: resume gives the losses of an uninterrupted run (entropy, baseline, dpar)") {
  using llama = dpar::llamagen_model<xtensor_backend, float>;
  using dpar_m = dpar::dpar_model<xtensor_backend, float>;
  SUBCASE("entropy model") {
    check_resume_exact<llama>("entropy", [] { return std::make_unique<llama>(test::tiny_llamagen_config(false), 2); },
                              nullptr, {});
  }
  SUBCASE("baseline") {
    check_resume_exact<llama>("baseline", [] { return std::make_unique<llama>(test::tiny_llamagen_config(true), 2); },
                              nullptr, {});
  }
  SUBCASE("dpar") {
    const auto ent = test::ramp_entropies(test::tiny_token_file(10, 3));
    const auto pc = test::tiny_patcher();
    check_resume_exact<dpar_m>("dpar", [] { return std::make_unique<dpar_m>(test::tiny_dpar_config(), 2); }, &ent, pc);
  }
}

TEST_CASE("trainer: FLOPs follow flops.hpp per image and patch count; checkpoint rebuilds the model") {
  xtensor_backend be;
  const auto data = test::tiny_token_file(8, 4);
  const auto ent = test::ramp_entropies(data);
  const auto pc = test::tiny_patcher();
  dpar::train_config cfg;
  cfg.steps = 2;
  cfg.batch = 4;
  const temp_dir dir("dpar_trainer_flops");
  cfg.out_dir = dir.path;
  dpar::dpar_model<xtensor_backend, float> model(test::tiny_dpar_config(), 3);
  dpar::trainer<xtensor_backend, dpar::dpar_model<xtensor_backend, float>> t(model, data, cfg, &ent, pc);
  t.run(be);
  // Each image's patches from the same rule the trainer uses; the order is a permutation, so the 2 steps
  // over 8 images cover every image once.
  double expected = 0;
  for (std::int64_t i = 0; i < 8; ++i)
    expected += dpar::dpar_training_flops(model.config(),
                                          static_cast<std::int64_t>(dpar::patch_lengths(pc, ent.image(i), 12).size()));
  CHECK(t.history().back().flops == doctest::Approx(expected));
  CHECK(t.history().back().tokens == 8 * 12);
  CHECK(dpar::dpar_training_flops(model.config(), 4) < dpar::dpar_training_flops(model.config(), 12));

  dpar::patcher_config loaded_pc;
  const auto loaded = dpar::load_dpar(be, dpar::trainer_checkpoint_path(cfg.out_dir), loaded_pc);
  CHECK(loaded_pc.threshold == pc.threshold);
  CHECK(loaded_pc.mode == pc.mode);
  CHECK(loaded->config().global_layers == 2);
  CHECK(loaded->config().positions == model.config().positions);
  const auto a = download(be, std::as_const(model.params()).flat());
  const auto b = download(be, std::as_const(loaded->params()).flat());
  CHECK(std::equal(a.data(), a.data() + a.numel(), b.data()));
  CHECK_THROWS_WITH_AS(dpar::load_llamagen(be, dpar::trainer_checkpoint_path(cfg.out_dir)),
                       doctest::Contains("checkpoint.safetensors holds a DPAR model, not a LlamaGen one"),
                       patchzoo::error);

  const dpar::llamagen_config lc = test::tiny_llamagen_config(true);
  // Conditional: T slots; the class row counts in the table but not in the Linear MACs.
  CHECK(dpar::llamagen_training_flops(lc) ==
        doctest::Approx(dpar::llamagen_full_flops({16, 2, 24, 10, 4, 12}, 2).training));
}
