// The tiny transformer end to end: whole-model gradients against finite differences, KV-cached decoding
// against the full forward pass, a 50-step training run on both CPU backends, and bad batches.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "patchzoo/backend/eigen/eigen_backend.hpp"
#include "patchzoo/backend/xtensor/xtensor_backend.hpp"
#include "patchzoo/data/markov_tokens.hpp"
#include "patchzoo/nn/transformer.hpp"
#include "patchzoo/train/adamw.hpp"
#include "patchzoo/train/lr_schedule.hpp"
#include "support/compare.hpp"

using namespace patchzoo;

namespace {

nn::transformer_config tiny_config() {
  nn::transformer_config c;
  c.vocab = 12;
  c.layers = 2;
  c.max_seq = 16;
  c.block = {.dim = 16, .heads = 2, .ffn_hidden = 24, .norm_eps = 1e-5f};
  c.init_std = 0.3;  // large enough that every path carries signal in a 2-step gradient check
  return c;
}

// Loss curve of `steps` AdamW steps on the Markov source, identical data for every backend.
template <class B>
std::vector<double> train_curve(int steps) {
  B be;
  nn::transformer_config cfg = tiny_config();
  cfg.init_std = 0.02;
  nn::transformer<B, float> model(cfg, 7);
  training::adamw_optimizer<B, float> opt(model.layout(),
                                          {.beta1 = 0.9, .beta2 = 0.95, .eps = 1e-8, .weight_decay = 0.05});
  const data::markov_tokens source(12, 2, 3);
  rng_stream r(11);
  std::vector<double> losses;
  for (int s = 0; s < steps; ++s) {
    const auto batch = source.batch(4, 16, r);
    model.grads().zero();
    losses.push_back(model.forward(be, batch));
    model.backward(be);
    training::clip_grad_norm(be, model.grads(), 1.0);
    opt.step(be, model.params(), model.grads(), 3e-3);
  }
  return losses;
}

}  // namespace

TEST_CASE("transformer: whole-model gradient matches finite differences (xtensor, double)") {
  xtensor_backend be;
  nn::transformer<xtensor_backend, double> model(tiny_config(), 1);
  const data::markov_tokens source(12, 3, 5);
  rng_stream r(2);
  // Two sequences of different lengths, packed, with one ignored target.
  auto batch = source.batch(1, 7, r);
  auto second = source.batch(1, 5, r);
  nn::token_batch packed{tensor<std::int32_t>(shape_t{12}), tensor<std::int32_t>(shape_t{12}), {0, 7, 12}};
  for (int i = 0; i < 7; ++i) packed.inputs[i] = batch.inputs[i], packed.targets[i] = batch.targets[i];
  for (int i = 0; i < 5; ++i) packed.inputs[7 + i] = second.inputs[i], packed.targets[7 + i] = second.targets[i];
  packed.targets[3] = nn::token_batch::ignore_index;

  model.grads().zero();
  model.forward(be, packed);
  model.backward(be);

  auto params = model.params().flat();
  const auto grads = model.grads().flat();
  const double eps = 1e-6;
  int checked = 0, failed = 0;
  for (const auto& slice : model.layout().slices()) {
    // A few elements per tensor keep the test fast while touching every parameter tensor.
    for (std::int64_t j = 0; j < slice.shape.numel(); j += std::max<std::int64_t>(1, slice.shape.numel() / 5)) {
      const std::int64_t i = slice.offset + j;
      const double saved = params.data[i];
      params.data[i] = saved + eps;
      const double up = model.forward(be, packed);
      params.data[i] = saved - eps;
      const double down = model.forward(be, packed);
      params.data[i] = saved;
      const double numeric = (up - down) / (2 * eps);
      ++checked;
      if (std::abs(numeric - grads.data[i]) > 1e-6 * std::max(1.0, std::abs(numeric))) {
        ++failed;
        FAIL_CHECK(slice.name << "[" << j << "]: analytic " << grads.data[i] << " numeric " << numeric);
      }
    }
  }
  CHECK(checked > 60);
  CHECK(failed == 0);
}

TEST_CASE_TEMPLATE("transformer: KV-cached decoding reproduces the full forward pass", B, xtensor_backend,
                   eigen_backend) {
  B be;
  nn::transformer<B, double> model(tiny_config(), 3);
  const data::markov_tokens source(12, 3, 5);
  rng_stream r(4);
  const auto batch = source.batch(1, 10, r);
  model.forward(be, batch);
  const tensor<double> full = model.logits(be);

  auto state = model.start_decoding(16);
  std::vector<std::int32_t> prompt(batch.inputs.data(), batch.inputs.data() + 4);
  tensor<double> first = model.decode(be, state, prompt);  // a 4-token prefill
  for (std::int64_t i = 0; i < first.numel(); ++i) CHECK(first[i] == doctest::Approx(full[i]).epsilon(1e-9));
  for (int t = 4; t < 10; ++t) {  // then one token at a time
    tensor<double> step = model.decode(be, state, {batch.inputs[t]});
    for (std::int64_t v = 0; v < 12; ++v) CHECK(step[v] == doctest::Approx(full[t * 12 + v]).epsilon(1e-9));
  }
  CHECK(state.length() == 10);
  CHECK_THROWS_WITH_AS(model.decode(be, state, std::vector<std::int32_t>(7, 1)), doctest::Contains("max_seq"),
                       patchzoo::error);
}

TEST_CASE("transformer: 50 training steps lower the loss, and both CPU backends agree") {
  const auto xt = train_curve<xtensor_backend>(50);
  const auto eg = train_curve<eigen_backend>(50);
  const data::markov_tokens source(12, 2, 3);
  MESSAGE("loss " << xt.front() << " -> " << xt.back() << " (entropy-rate floor " << source.entropy_rate() << ")");
  CHECK(xt.back() < xt.front() - 0.7);
  CHECK(xt.back() > source.entropy_rate() - 0.05);  // no model beats the source's own entropy
  const auto tol = test::f32_tolerance("training_loss");
  for (std::size_t i = 0; i < xt.size(); ++i)
    CHECK_MESSAGE(std::abs(xt[i] - eg[i]) <= tol.abs + tol.rel * std::abs(xt[i]), "step ", i, ": ", xt[i], " vs ", eg[i]);
}

TEST_CASE("transformer: bad batches are rejected with a message naming the problem") {
  eigen_backend be;
  nn::transformer<eigen_backend, float> model(tiny_config(), 1);
  nn::token_batch b{tensor<std::int32_t>(shape_t{3}, {1, 2, 40}), tensor<std::int32_t>(shape_t{3}, {2, 3, 4}), {0, 3}};
  CHECK_THROWS_WITH_AS(model.forward(be, b), doctest::Contains("input token 40 at position 2 is out of range [0, 12)"),
                       patchzoo::error);
  b.inputs[2] = 3;
  b.targets[0] = 99;
  CHECK_THROWS_WITH_AS(model.forward(be, b), doctest::Contains("target 99"), patchzoo::error);
  b.targets[0] = 2;
  b.offsets = {0, 2};
  CHECK_THROWS_WITH_AS(model.forward(be, b), doctest::Contains("offsets"), patchzoo::error);
  b.offsets = {0, 3};
  nn::token_batch empty{tensor<std::int32_t>(shape_t{0}), tensor<std::int32_t>(shape_t{0}), {0}};
  CHECK_THROWS_WITH_AS(model.forward(be, empty), doctest::Contains("empty"), patchzoo::error);
  CHECK_THROWS_AS(model.backward(be), patchzoo::error);  // no successful forward yet
  CHECK_NOTHROW(model.forward(be, b));

  // A NaN that got into the weights (a diverged run, a corrupt file) stops training with a clear error.
  model.params().flat().data[0] = std::numeric_limits<float>::quiet_NaN();
  model.params().flat().data[1] = std::numeric_limits<float>::quiet_NaN();
  nn::token_batch uses_nan{tensor<std::int32_t>(shape_t{2}, {0, 0}), tensor<std::int32_t>(shape_t{2}, {1, 2}), {0, 2}};
  CHECK_THROWS_WITH_AS(model.forward(be, uses_nan), doctest::Contains("loss is not finite"), patchzoo::error);
}
