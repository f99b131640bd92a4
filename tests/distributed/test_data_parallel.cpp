// Data-parallel training over MPI, on 2 ranks: the communicator's collectives; 2 ranks x batch 16 train like
// 1 rank x batch 32 (DPAR, the VQ tokenizer and a zoo classifier), with bit-identical parameters on the
// ranks; resumes from 2 ranks to 1 and from 1 to 2 continue the one-process run; ranks started with different
// settings stop together with the name of the setting. Each rank computes the one-process reference itself.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "distributed/world.hpp"
#include "dpar/tiny_pipeline.hpp"
#include "patchzoo/backend/eigen/eigen_backend.hpp"
#include "patchzoo/backend/xtensor/xtensor_backend.hpp"
#include "patchzoo/dpar/trainer.hpp"
#include "patchzoo/vq/vq_trainer.hpp"
#include "patchzoo/zoo/make_classifier.hpp"
#include "patchzoo/zoo/training.hpp"
#include "support/random.hpp"
#include "vq/vq_fixture.hpp"

using namespace patchzoo;
using test::world;

namespace {

// The loss of a step on 2 ranks sums its gradient in another order than one process: float rounding only.
// Over 20 AdamW steps of these tiny models the curves differ by at most 5.4e-8 relative (measured, printed
// by each test); the tolerance leaves 200x room (docs/distributed.md).
constexpr double curve_tolerance = 1e-5;

void check_same_curve(const std::vector<double>& distributed, const std::vector<double>& single) {
  REQUIRE(distributed.size() == single.size());
  double largest = 0;
  for (std::size_t i = 0; i < single.size(); ++i) {
    INFO("step " << i + 1 << ": " << distributed[i] << " on 2 ranks, " << single[i] << " in one process");
    CHECK(std::abs(distributed[i] - single[i]) <= curve_tolerance * std::abs(single[i]));
    largest = std::max(largest, std::abs(distributed[i] - single[i]) / std::abs(single[i]));
  }
  if (world().is_root()) MESSAGE("largest relative loss difference over " << single.size() << " steps: " << largest);
}

template <class Log>
std::vector<double> losses_of(const std::vector<Log>& history) {
  std::vector<double> out;
  for (const auto& h : history) {
    if constexpr (requires { h.loss; }) out.push_back(h.loss);
    else out.push_back(h.recon_mse);
  }
  return out;
}

template <backend B, real T>
void check_identical_on_ranks(B& be, const nn::param_arena<B, T>& params) {
  const auto host = download(be, params.flat());
  const auto all = world().allgather(std::to_string(training::fnv1a(host.data(), host.bytes())));
  for (std::size_t r = 1; r < all.size(); ++r) CHECK(all[r] == all[0]);
}

using dpar_model_t = dpar::dpar_model<xtensor_backend, float>;

dpar::dpar_config no_dropout(dpar::dpar_config c) {
  c.token_dropout = c.label_dropout = c.global_dropout = 0.0f;
  return c;
}

const data::token_file& dpar_data() {
  static const data::token_file f = test::tiny_token_file(64, 3);
  return f;
}
const dpar::entropy_file& dpar_entropies() {
  static const dpar::entropy_file e = test::ramp_entropies(dpar_data());
  return e;
}
dpar::train_config dpar_recipe(training::communicator* comm) {
  return {.steps = 20, .batch = 32, .lr = 3e-3, .warmup = 2, .cosine = true, .min_lr = 3e-4, .seed = 11,
          .out_dir = {}, .comm = comm};
}

// The reference: 20 steps of DPAR in this process alone at batch 32.
std::vector<double> dpar_single_process_curve() {
  xtensor_backend be;
  dpar_model_t model(no_dropout(test::tiny_dpar_config()), 2);
  dpar::trainer<xtensor_backend, dpar_model_t> t(model, dpar_data(), dpar_recipe(nullptr), &dpar_entropies(),
                                                 test::tiny_patcher());
  t.run(be);
  return losses_of(t.history());
}

}  // namespace

TEST_CASE("mpi communicator: sums, broadcast and gather over the ranks") {
  auto& comm = world();
  REQUIRE(comm.size() == 2);
  CHECK(comm.name() == "MPI");
  std::vector<float> f{1.0f + comm.rank(), 0.1f, -2.0f};
  comm.allreduce_sum(f.data(), f.size());
  CHECK(f[0] == 3.0f);
  CHECK(f[1] == doctest::Approx(0.2f));
  CHECK(f[2] == -4.0f);
  std::vector<double> d{0.5 * comm.rank()};
  comm.allreduce_sum(d.data(), d.size());
  CHECK(d[0] == 0.5);
  std::int64_t value = comm.is_root() ? 42 : -1;
  comm.broadcast(&value, sizeof(value));
  CHECK(value == 42);
  const auto all = comm.allgather(std::string(static_cast<std::size_t>(comm.rank()) + 1, 'a' + comm.rank()));
  REQUIRE(all.size() == 2);
  CHECK(all[0] == "a");
  CHECK(all[1] == "bb");
  // Rows gathered in rank order are the global batch order.
  tensor<std::int32_t> mine(shape_t{2}, std::vector<std::int32_t>{2 * comm.rank(), 2 * comm.rank() + 1});
  const auto rows = training::gather_rows(comm, std::move(mine));
  CHECK(rows.to_vector() == std::vector<std::int32_t>{0, 1, 2, 3});
}

TEST_CASE("data-parallel DPAR: 2 ranks x 16 follow 1 rank x 32 and end with identical parameters") {
  const auto single = dpar_single_process_curve();
  xtensor_backend be;
  dpar_model_t model(no_dropout(test::tiny_dpar_config()), 2 + world().rank());  // rank 0's weights win
  dpar::trainer<xtensor_backend, dpar_model_t> t(model, dpar_data(), dpar_recipe(&world()), &dpar_entropies(),
                                                 test::tiny_patcher());
  t.run(be);
  check_same_curve(losses_of(t.history()), single);
  CHECK(t.history().back().tokens == 20 * 32 * dpar_data().tokens_per_image());  // global counts
  check_identical_on_ranks(be, std::as_const(model).params());
}

TEST_CASE("data-parallel resume: 2 ranks -> 1 and 1 -> 2 continue the one-process run") {
  const auto single = dpar_single_process_curve();
  xtensor_backend be;
  SUBCASE("2 ranks checkpoint at step 10, rank 0 alone finishes") {
    const test::shared_temp_dir dir("dp_resume_2to1");
    {
      dpar_model_t model(no_dropout(test::tiny_dpar_config()), 2);
      auto cfg = dpar_recipe(&world());
      cfg.out_dir = dir.path;
      cfg.checkpoint_every = 10;
      dpar::trainer<xtensor_backend, dpar_model_t> t(model, dpar_data(), cfg, &dpar_entropies(), test::tiny_patcher());
      t.run(be, {}, 10);
    }
    world().barrier();  // the checkpoint is on disk
    if (world().is_root()) {
      dpar_model_t model(no_dropout(test::tiny_dpar_config()), 7);  // the checkpoint's weights replace these
      auto cfg = dpar_recipe(nullptr);
      cfg.out_dir = dir.path;
      dpar::trainer<xtensor_backend, dpar_model_t> t(model, dpar_data(), cfg, &dpar_entropies(), test::tiny_patcher());
      CHECK(t.resume(be) == 10);
      t.run(be);
      check_same_curve(losses_of(t.history()), single);
    }
  }
  SUBCASE("rank 0 alone checkpoints at step 10, 2 ranks finish") {
    const test::shared_temp_dir dir("dp_resume_1to2");
    if (world().is_root()) {
      dpar_model_t model(no_dropout(test::tiny_dpar_config()), 2);
      auto cfg = dpar_recipe(nullptr);
      cfg.out_dir = dir.path;
      cfg.checkpoint_every = 10;
      dpar::trainer<xtensor_backend, dpar_model_t> t(model, dpar_data(), cfg, &dpar_entropies(), test::tiny_patcher());
      t.run(be, {}, 10);
    }
    world().barrier();
    dpar_model_t model(no_dropout(test::tiny_dpar_config()), 7);
    auto cfg = dpar_recipe(&world());
    cfg.out_dir = dir.path;
    dpar::trainer<xtensor_backend, dpar_model_t> t(model, dpar_data(), cfg, &dpar_entropies(), test::tiny_patcher());
    CHECK(t.resume(be) == 10);
    t.run(be);
    check_same_curve(losses_of(t.history()), single);
    check_identical_on_ranks(be, std::as_const(model).params());
  }
}

TEST_CASE("data-parallel VQ tokenizer: the codebook upkeep sees the whole batch, as in one process") {
  const auto blobs = test::blob_images<float>(48, 16, 99);
  data::image_dataset images{16, 16, std::vector<std::uint8_t>(static_cast<std::size_t>(blobs.numel())),
                             std::vector<std::uint8_t>(48, 0)};
  for (std::int64_t i = 0; i < blobs.numel(); ++i)
    images.pixels[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(std::lround((blobs[i] + 1.0f) * 127.5f));
  vq::vq_config mc = test::tiny_vq_config();
  mc.codebook_size = 32;
  mc.dead_code_steps = 4;  // codes unused for 4 steps restart from the batch's latents: the gathered rows matter
  const auto recipe = [](training::communicator* comm) {
    vq::vq_train_config t;
    t.steps = 20;
    t.batch = 16;
    t.lr = 3e-3;
    t.warmup = 2;
    t.checkpoint_every = 0;
    t.seed = 5;
    t.comm = comm;
    return t;
  };
  for (const auto mode : {vq::quantizer_mode::ema, vq::quantizer_mode::loss}) {
    mc.mode = mode;
    eigen_backend be;
    vq::vq_tokenizer<eigen_backend, float> alone(mc, 1);
    vq::vq_trainer<eigen_backend> single(alone, images, recipe(nullptr));
    single.run(be);
    vq::vq_tokenizer<eigen_backend, float> shared(mc, 1 + world().rank());
    vq::vq_trainer<eigen_backend> distributed(shared, images, recipe(&world()));
    distributed.run(be);
    check_same_curve(losses_of(distributed.history()), losses_of(single.history()));
    std::int64_t restarts = 0;
    for (std::size_t i = 0; i < single.history().size(); ++i) {
      CHECK(distributed.history()[i].restarted == single.history()[i].restarted);
      CHECK(distributed.history()[i].usage == single.history()[i].usage);
      restarts += single.history()[i].restarted;
    }
    CHECK(restarts > 0);  // the upkeep did restart codes, from rows of both ranks
    check_identical_on_ranks(be, std::as_const(shared).params());
    const auto state = shared.state().ema_codebook();  // the EMA statistics, the same bits on both ranks
    const auto all = world().allgather(std::string(reinterpret_cast<const char*>(state.data()), state.bytes()));
    CHECK(all[0] == all[1]);
  }
}

TEST_CASE("data-parallel zoo classifier: 2 ranks x 8 follow 1 rank x 16") {
  data::image_dataset images{28, 28, std::vector<std::uint8_t>(64 * 28 * 28), std::vector<std::uint8_t>(64)};
  rng_stream r(3);
  for (auto& p : images.pixels) p = static_cast<std::uint8_t>(r.below(256));
  for (auto& l : images.labels) l = static_cast<std::uint8_t>(r.below(10));
  const zoo::training_config cfg{.epochs = 5, .batch = 16, .lr = 3e-3, .weight_decay = 1e-4};  // 20 steps
  eigen_backend be;
  auto alone = zoo::make_classifier<eigen_backend, float>(zoo::mlp({16}), 4);
  std::vector<double> single, distributed;
  zoo::train_classifier(be, *alone, images, cfg, 9, [&](std::int64_t, std::int64_t, double l) { single.push_back(l); });
  auto shared = zoo::make_classifier<eigen_backend, float>(zoo::mlp({16}), 4 + world().rank());
  zoo::train_classifier(
      be, *shared, images, cfg, 9, [&](std::int64_t, std::int64_t, double l) { distributed.push_back(l); }, {}, world());
  check_same_curve(distributed, single);
  check_identical_on_ranks(be, std::as_const(*shared).params());
}

TEST_CASE("ranks started with different settings stop together, naming the setting") {
  xtensor_backend be;
  dpar_model_t model(no_dropout(test::tiny_dpar_config()), 2);
  auto cfg = dpar_recipe(&world());
  cfg.lr = world().is_root() ? 3e-3 : 1e-3;
  dpar::trainer<xtensor_backend, dpar_model_t> t(model, dpar_data(), cfg, &dpar_entropies(), test::tiny_patcher());
  CHECK_THROWS_WITH_AS(t.run(be), doctest::Contains("ranks disagree on 'train.lr': rank 0 has 0.003, rank 1 has 0.001"),
                       error);
  // A global batch the ranks cannot split equally is refused before any collective.
  auto odd = dpar_recipe(&world());
  odd.batch = 33;
  CHECK_THROWS_WITH_AS(
      (dpar::trainer<xtensor_backend, dpar_model_t>(model, dpar_data(), odd, &dpar_entropies(), test::tiny_patcher())),
      doctest::Contains("batch 33 does not split into 2 equal shards"), error);
}
