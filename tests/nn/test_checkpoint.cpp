// Training checkpoints: an interrupted run resumed from its checkpoint gives exactly the losses of an
// uninterrupted run, and a mismatched file is rejected without touching the model.
#include <doctest/doctest.h>

#include <algorithm>
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

TEST_CASE("checkpoint: a parameters-only file loads for inference and is refused for resuming, by name") {
  eigen_backend be;
  const temp_dir dir("checkpoint");
  const auto path = dir / "params.safetensors";
  nn::transformer<eigen_backend, float> trained(small_config(), 3);
  training::save_params(be, path, trained.params(), {{"run", "tiny"}});

  nn::transformer<eigen_backend, float> loaded(small_config(), 4);
  const auto meta = training::load_checkpoint_params(be, path, loaded.params());
  CHECK(meta.at("run") == "tiny");
  CHECK(download(be, std::as_const(loaded.params()).flat()).to_vector() ==
        download(be, std::as_const(trained.params()).flat()).to_vector());

  training::adamw_optimizer<eigen_backend, float> opt(loaded.layout(), {});
  CHECK_THROWS_WITH_AS(training::load_checkpoint(be, path, loaded.params(), opt),
                       doctest::Contains("holds parameters only"), patchzoo::error);
}

TEST_CASE("checkpoint: tensors the model does not use are refused by name unless the caller opts in") {
  eigen_backend be;
  const temp_dir dir("checkpoint");
  const auto path = dir / "deeper.safetensors";
  auto deeper_config = small_config();
  deeper_config.layers = 3;  // one block more than the model below declares
  nn::transformer<eigen_backend, float> deeper(deeper_config, 5);
  training::adamw_optimizer<eigen_backend, float> deeper_opt(deeper.layout(), {});
  training::save_checkpoint(be, path, deeper.params(), deeper_opt);

  nn::transformer<eigen_backend, float> shallow(small_config(), 6);
  training::adamw_optimizer<eigen_backend, float> opt(shallow.layout(), {});
  const auto before = download(be, std::as_const(shallow.params()).flat()).to_vector();
  CHECK_THROWS_WITH_AS(training::load_checkpoint(be, path, shallow.params(), opt),
                       doctest::Contains("blocks.2."), patchzoo::error);
  CHECK_THROWS_WITH_AS(training::load_checkpoint_params(be, path, shallow.params()),
                       doctest::Contains("is not used by this model"), patchzoo::error);
  CHECK(download(be, std::as_const(shallow.params()).flat()).to_vector() == before);

  // Opting in loads the first two blocks, the embeddings and the head: the shallow model's whole layout.
  training::load_checkpoint_params(be, path, shallow.params(), {.ignore_unused = true});
  const auto loaded = download(be, std::as_const(shallow.params()).flat()).to_vector();
  const auto source = download(be, std::as_const(deeper.params()).flat()).to_vector();
  for (const auto& s : shallow.layout().slices()) {
    const auto& slices = deeper.layout().slices();
    const auto d = std::find_if(slices.begin(), slices.end(), [&](const auto& t) { return t.name == s.name; });
    REQUIRE(d != slices.end());
    CHECK_MESSAGE(std::equal(loaded.begin() + s.offset, loaded.begin() + s.offset + s.shape.numel(),
                             source.begin() + d->offset),
                  s.name);
  }
}

TEST_CASE("checkpoint: a missing tensor is named before anything else, and declared caller tensors load") {
  eigen_backend be;
  const temp_dir dir("checkpoint");
  nn::transformer<eigen_backend, float> model(small_config(), 7);
  training::adamw_optimizer<eigen_backend, float> opt(model.layout(), {});

  // A training checkpoint whose writer dropped one moment: the error names it, not the file's 40 tensors.
  const auto partial = dir / "partial.safetensors";
  {
    safetensors_writer w;
    const auto host = download(be, std::as_const(model.params()).flat());
    for (const auto& s : model.layout().slices()) {
      const tensor_view<const float> v(host.data() + s.offset, s.shape);
      w.add("param/" + s.name, v);
      w.add("adam_v/" + s.name, v);
      if (s.name != "head") w.add("adam_m/" + s.name, v);
    }
    w.add_metadata("format", "patchzoo-training-checkpoint-1");
    w.add_metadata("step", "1");
    w.write(partial);
  }
  CHECK_THROWS_WITH_AS(training::load_checkpoint(be, partial, model.params(), opt),
                       doctest::Contains("partial.safetensors: missing tensor 'adam_m/head'"), patchzoo::error);

  const auto with_extra = dir / "extra.safetensors";
  const tensor<float> counts(shape_t{3});  // outlives the write: the writer streams views at write()
  training::save_checkpoint(be, with_extra, model.params(), opt, {},
                            [&](safetensors_writer& w) { w.add("sampler/counts", counts.cview()); });
  CHECK_THROWS_WITH_AS(training::load_checkpoint(be, with_extra, model.params(), opt),
                       doctest::Contains("tensor 'sampler/counts' of shape [3] is not used"), patchzoo::error);
  CHECK_NOTHROW(training::load_checkpoint(be, with_extra, model.params(), opt, {.caller_tensors = {"sampler/"}}));
  CHECK_NOTHROW(training::load_checkpoint_params(be, with_extra, model.params(), {.caller_tensors = {"sampler/counts"}}));
}
