// The LlamaGen baseline and entropy model: whole-model gradients (with dropout on) against finite
// differences, KV-cached decoding against the full pass, packing without cross-image leakage, causality,
// entropies, eigen vs xtensor, and a short training run.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "patchzoo/backend/eigen/eigen_backend.hpp"
#include "patchzoo/backend/xtensor/xtensor_backend.hpp"
#include "patchzoo/dpar/llamagen_model.hpp"
#include "patchzoo/train/adamw.hpp"
#include "support/compare.hpp"
#include "dpar/model_checks.hpp"

using namespace patchzoo;

namespace {

dpar::llamagen_config tiny_llamagen(bool conditional) {
  dpar::llamagen_config c;
  c.vocab = 10;
  c.classes = 3;
  c.tokens = 12;
  c.row_width = 4;
  c.layers = 2;
  c.conditional = conditional;
  c.block = {.dim = 16, .heads = 2, .ffn_hidden = 24, .norm_eps = 1e-5f};
  c.init_std = 0.3;  // large enough that every path carries signal in the gradient check
  c.zero_head = false;
  return c;
}

const data::markov_tokens& source() {
  static const data::markov_tokens s(10, 2, 5);
  return s;
}

dpar::token_grid_batch grid(std::int64_t images, std::uint64_t seed) {
  rng_stream r(seed);
  return test::markov_grid(source(), images, 12, 4, 3, r);
}

}  // namespace

TEST_CASE("llamagen: whole-model gradient matches finite differences, with token and label dropout") {
  for (const bool conditional : {true, false}) {
    INFO("conditional " << conditional);
    xtensor_backend be;
    auto cfg = tiny_llamagen(conditional);
    cfg.label_dropout = 0.5f;
    dpar::llamagen_model<xtensor_backend, double> model(cfg, 1);
    const auto batch = grid(3, 2);
    const dpar::step_noise noise{.training = true, .seed = 9};
    model.grads().zero();
    model.forward(be, batch, noise);
    model.backward(be);
    test::check_model_gradient(model, [&] { return model.forward(be, batch, noise); });
  }
}

TEST_CASE("llamagen: token, label and block dropout act only in training, reproducibly") {
  xtensor_backend be;
  dpar::llamagen_model<xtensor_backend, double> model(tiny_llamagen(true), 1);
  const auto batch = grid(2, 3);
  const double eval = model.forward(be, batch);
  CHECK(model.forward(be, batch) == eval);
  const double a = model.forward(be, batch, {.training = true, .seed = 4});
  CHECK(a != eval);
  CHECK(model.forward(be, batch, {.training = true, .seed = 4}) == a);
  CHECK(model.forward(be, batch, {.training = true, .seed = 5}) != a);
  // Each kind alone: block (residual + FFN) dropout moves the loss; with every p = 0 training is evaluation.
  auto cfg = tiny_llamagen(true);
  cfg.token_dropout = 0.0f;
  cfg.label_dropout = 0.0f;
  cfg.block_dropout = 0.0f;
  dpar::llamagen_model<xtensor_backend, double> plain(cfg, 1);
  CHECK(plain.forward(be, batch, {.training = true, .seed = 4}) == eval);
  cfg.block_dropout = 0.3f;
  dpar::llamagen_model<xtensor_backend, double> block_only(cfg, 1);
  CHECK(block_only.forward(be, batch) == eval);
  CHECK(block_only.forward(be, batch, {.training = true, .seed = 4}) != eval);

  const dpar::step_noise noise{.training = true, .seed = 0};
  const auto all_null = noise.dropped_labels(std::vector<std::int32_t>(50, 1), 0.999f, 3);
  CHECK(std::count(all_null.begin(), all_null.end(), 3) >= 49);
  const auto kept = dpar::step_noise{}.dropped_labels(std::vector<std::int32_t>(50, 1), 0.999f, 3);
  CHECK(std::count(kept.begin(), kept.end(), 1) == 50);
}

TEST_CASE_TEMPLATE("llamagen: KV-cached decoding reproduces the full forward pass", Be, xtensor_backend,
                   eigen_backend) {
  for (const bool conditional : {true, false}) {
    INFO("conditional " << conditional);
    Be be;
    auto cfg = tiny_llamagen(conditional);
    dpar::llamagen_model<Be, double> model(cfg, 3);
    const auto batch = grid(1, 4);
    model.forward(be, batch);
    const tensor<double> full = model.logits(be);
    const std::int64_t slots = cfg.slots();
    REQUIRE(full.dim(0) == slots);

    auto state = model.start_decoding(batch.labels[0]);
    std::vector<std::int32_t> prompt(batch.tokens.begin(), batch.tokens.begin() + 4);
    const tensor<double> first = model.decode(be, state, prompt);  // a prefill (plus the class slot)
    const std::int64_t fed = conditional ? 5 : 4;
    REQUIRE(first.dim(0) == fed);
    for (std::int64_t i = 0; i < first.numel(); ++i) CHECK(first[i] == doctest::Approx(full[i]).epsilon(1e-9));
    for (std::int64_t t = 4; t < 11; ++t) {  // then one token at a time, up to x_{T-2}
      const tensor<double> step = model.decode(be, state, {batch.tokens[t]});
      const std::int64_t row = conditional ? t + 1 : t;
      for (std::int64_t v = 0; v < cfg.vocab; ++v)
        CHECK(step[v] == doctest::Approx(full[row * cfg.vocab + v]).epsilon(1e-9));
    }
    CHECK(state.length() == slots);
    CHECK_THROWS_WITH_AS(model.decode(be, state, {1}), doctest::Contains("exceed"), patchzoo::error);
  }
}

TEST_CASE("llamagen: a packed batch equals its images run alone, and images never see each other") {
  xtensor_backend be;
  dpar::llamagen_model<xtensor_backend, double> model(tiny_llamagen(true), 5);
  auto batch = grid(3, 6);
  model.forward(be, batch);
  const tensor<double> packed = model.logits(be);
  const std::int64_t per_image = 12 * 10;
  for (std::int64_t i = 0; i < 3; ++i) {
    dpar::token_grid_batch alone{12, 4, {batch.tokens.begin() + i * 12, batch.tokens.begin() + (i + 1) * 12},
                                 {batch.labels[i]}};
    model.forward(be, alone);
    const tensor<double> own = model.logits(be);
    for (std::int64_t k = 0; k < per_image; ++k)
      CHECK(own[k] == doctest::Approx(packed[i * per_image + k]).epsilon(1e-12));
  }
  // Changing image 2 (tokens and label) leaves images 0 and 1 bit-identical.
  for (int t = 0; t < 12; ++t) batch.tokens[24 + t] = (batch.tokens[24 + t] + 3) % 10;
  batch.labels[2] = (batch.labels[2] + 1) % 3;
  model.forward(be, batch);
  const tensor<double> changed = model.logits(be);
  for (std::int64_t k = 0; k < 2 * per_image; ++k) CHECK(changed[k] == packed[k]);
  bool image2_moved = false;
  for (std::int64_t k = 2 * per_image; k < 3 * per_image; ++k) image2_moved |= changed[k] != packed[k];
  CHECK(image2_moved);
}

TEST_CASE("llamagen: perturbing x_j changes no logits that predict x_0..x_j") {
  for (const bool conditional : {true, false}) {
    INFO("conditional " << conditional);
    xtensor_backend be;
    const auto cfg = tiny_llamagen(conditional);
    dpar::llamagen_model<xtensor_backend, double> model(cfg, 7);
    const auto batch = grid(1, 8);
    model.forward(be, batch);
    const tensor<double> base = model.logits(be);
    for (const std::int64_t j : {0, 3, 7, 10}) {
      auto moved = batch;
      moved.tokens[j] = (moved.tokens[j] + 1) % 10;
      model.forward(be, moved);
      const tensor<double> out = model.logits(be);
      const std::int64_t shift = conditional ? 0 : 1;  // slot s predicts x_{s + shift}
      bool later_moved = false;
      for (std::int64_t s = 0; s < cfg.slots(); ++s)
        for (std::int64_t v = 0; v < cfg.vocab; ++v) {
          const std::int64_t k = s * cfg.vocab + v;
          if (s + shift <= j) CHECK(out[k] == base[k]);
          else later_moved |= out[k] != base[k];
        }
      CHECK(later_moved);
    }
  }
}

TEST_CASE("llamagen: next-token entropies are -sum p ln p of each prediction, in their token's column") {
  xtensor_backend be;
  auto cfg = tiny_llamagen(false);
  dpar::llamagen_model<xtensor_backend, double> model(cfg, 2);
  const auto batch = grid(2, 9);
  const tensor<double> h = model.next_token_entropies(be, batch);
  const tensor<double> lg = model.logits(be);
  REQUIRE(h.dim(0) == 2);
  REQUIRE(h.dim(1) == 12);
  for (std::int64_t i = 0; i < 2; ++i) {
    CHECK(h[i * 12] == 0.0);  // x_0 is never predicted
    for (std::int64_t t = 1; t < 12; ++t) {
      const double* row = lg.data() + (i * 11 + t - 1) * 10;
      double z = 0.0, hp = 0.0;
      for (int v = 0; v < 10; ++v) z += std::exp(row[v]);
      for (int v = 0; v < 10; ++v) hp -= std::exp(row[v]) / z * (row[v] - std::log(z));
      CHECK(h[i * 12 + t] == doctest::Approx(hp).epsilon(1e-12));
      CHECK(h[i * 12 + t] > 0.0);
      CHECK(h[i * 12 + t] < std::log(10.0) + 1e-12);
    }
  }
  // The zero-initialised head predicts uniformly: every entropy is ln V.
  cfg.zero_head = true;
  dpar::llamagen_model<xtensor_backend, double> fresh(cfg, 2);
  const tensor<double> uniform = fresh.next_token_entropies(be, batch);
  for (std::int64_t t = 1; t < 12; ++t) CHECK(uniform[t] == doctest::Approx(std::log(10.0)).epsilon(1e-12));
}

TEST_CASE("llamagen: eigen and xtensor agree on loss and gradients (float)") {
  xtensor_backend xb;
  eigen_backend eb;
  const auto cfg = tiny_llamagen(true);
  dpar::llamagen_model<xtensor_backend, float> xm(cfg, 4);
  dpar::llamagen_model<eigen_backend, float> em(cfg, 4);
  const auto batch = grid(3, 10);
  const dpar::step_noise noise{.training = true, .seed = 3};
  xm.grads().zero();
  em.grads().zero();
  const double xl = xm.forward(xb, batch, noise), el = em.forward(eb, batch, noise);
  const auto tol = test::f32_tolerance("model");
  CHECK(std::abs(xl - el) <= tol.abs + tol.rel * std::abs(xl));
  xm.backward(xb);
  em.backward(eb);
  test::check_close("gradients", std::as_const(em.grads()).flat(), std::as_const(xm.grads()).flat(), tol);
}

TEST_CASE("llamagen: 40 training steps on a structured token grid lower the loss") {
  for (const bool conditional : {true, false}) {
    INFO("conditional " << conditional);
    eigen_backend be;
    auto cfg = tiny_llamagen(conditional);
    cfg.init_std = 0.02;
    cfg.zero_head = true;
    dpar::llamagen_model<eigen_backend, float> model(cfg, 7);
    training::adamw_optimizer<eigen_backend, float> opt(model.layout(), {.weight_decay = 0.05});
    rng_stream r(11);
    std::vector<double> losses;
    for (int s = 0; s < 40; ++s) {
      const auto batch = test::markov_grid(source(), 4, 12, 4, 3, r);
      model.grads().zero();
      losses.push_back(model.forward(be, batch, {.training = true, .seed = static_cast<std::uint64_t>(s)}));
      model.backward(be);
      training::clip_grad_norm(be, model.grads(), 1.0);
      opt.step(be, model.params(), model.grads(), 3e-3);
    }
    MESSAGE("loss " << losses.front() << " -> " << losses.back() << " (source entropy rate "
                    << source().entropy_rate() << ")");
    CHECK(losses.front() == doctest::Approx(std::log(10.0)).epsilon(1e-3));  // zero head: uniform start
    CHECK(losses.back() < losses.front() - 0.5);
  }
}

TEST_CASE("llamagen: bad batches and configs are rejected with a message naming the problem") {
  eigen_backend be;
  dpar::llamagen_model<eigen_backend, float> model(tiny_llamagen(true), 1);
  auto batch = grid(2, 1);
  batch.tokens[5] = 10;
  CHECK_THROWS_WITH_AS(model.forward(be, batch), doctest::Contains("token 10 at position 5"), patchzoo::error);
  batch = grid(2, 1);
  batch.labels[1] = 4;
  CHECK_THROWS_WITH_AS(model.forward(be, batch), doctest::Contains("label 4 of image 1"), patchzoo::error);
  batch = grid(2, 1);
  batch.labels.pop_back();
  CHECK_THROWS_WITH_AS(model.forward(be, batch), doctest::Contains("1 labels for 2 images"), patchzoo::error);
  batch = grid(2, 1);
  batch.row_width = 3;
  CHECK_THROWS_WITH_AS(model.forward(be, batch), doctest::Contains("does not match"), patchzoo::error);
  CHECK_THROWS_AS(model.backward(be), patchzoo::error);
  auto cfg = tiny_llamagen(true);
  cfg.row_width = 5;
  CHECK_THROWS_WITH_AS((dpar::llamagen_model<eigen_backend, float>(cfg, 1)), doctest::Contains("row_width 5"),
                       patchzoo::error);
}
