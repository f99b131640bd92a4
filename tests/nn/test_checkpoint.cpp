// Training checkpoints: an interrupted run resumed from its checkpoint gives exactly the losses of an
// uninterrupted run, and a mismatched file is rejected without touching the model.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "patchzoo/backend/eigen/eigen_backend.hpp"
#include "patchzoo/data/markov_tokens.hpp"
#include "patchzoo/nn/transformer.hpp"
#include "patchzoo/train/checkpoint.hpp"
#include "support/temp_dir.hpp"

using namespace patchzoo;

namespace {

nn::transformer_config small_config(std::int64_t dim = 16) {
  nn::transformer_config c;
  c.vocab = 10;
  c.layers = 2;
  c.max_seq = 12;
  c.block = {.dim = dim, .heads = 2, .ffn_hidden = 32, .norm_eps = 1e-5f};
  return c;
}

struct run {
  eigen_backend be;
  nn::transformer<eigen_backend, float> model{small_config(), 5};
  training::adamw_optimizer<eigen_backend, float> opt{model.layout(), {}};
  data::markov_tokens source{10, 2, 9};
  rng_stream data_rng{17};

  double step() {
    const auto batch = source.batch(3, 12, data_rng);
    model.grads().zero();
    const double loss = model.forward(be, batch);
    model.backward(be);
    training::clip_grad_norm(be, model.grads(), 1.0);
    opt.step(be, model.params(), model.grads(), 1e-2);
    return loss;
  }
};

}  // namespace

TEST_CASE("checkpoint: resuming reproduces the uninterrupted loss curve exactly") {
  run straight;
  std::vector<double> expected;
  for (int s = 0; s < 10; ++s) expected.push_back(straight.step());

  const temp_dir dir("checkpoint");
  const auto path = dir / "resume.safetensors";
  {
    run first;
    for (int s = 0; s < 4; ++s) CHECK(first.step() == expected[s]);
    training::save_checkpoint(first.be, path, first.model.params(), first.opt,
                              {{"data_rng_counter", std::to_string(first.data_rng.counter())}});
  }
  run resumed;
  const auto meta = training::load_checkpoint(resumed.be, path, resumed.model.params(), resumed.opt);
  CHECK(resumed.opt.steps() == 4);
  resumed.data_rng = rng_stream(17, std::stoull(meta.at("data_rng_counter")));
  for (int s = 4; s < 10; ++s) CHECK(resumed.step() == expected[s]);
}

TEST_CASE("checkpoint: a file for another model shape is rejected and the model is left untouched") {
  eigen_backend be;
  const temp_dir dir("checkpoint");
  const auto path = dir / "mismatch.safetensors";
  nn::transformer<eigen_backend, float> wide(small_config(32), 1);
  training::adamw_optimizer<eigen_backend, float> wide_opt(wide.layout(), {});
  training::save_checkpoint(be, path, wide.params(), wide_opt);

  nn::transformer<eigen_backend, float> narrow(small_config(16), 2);
  training::adamw_optimizer<eigen_backend, float> narrow_opt(narrow.layout(), {});
  const auto before = download(be, std::as_const(narrow.params()).flat());
  CHECK_THROWS_WITH_AS(training::load_checkpoint(be, path, narrow.params(), narrow_opt),
                       doctest::Contains("shape"), patchzoo::error);
  const auto after = download(be, std::as_const(narrow.params()).flat());
  CHECK(before.to_vector() == after.to_vector());

  std::ofstream(path, std::ios::binary | std::ios::trunc) << "not a checkpoint";
  CHECK_THROWS_AS(training::load_checkpoint(be, path, narrow.params(), narrow_opt), patchzoo::error);
}
