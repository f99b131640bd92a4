// Every model type moves: move construction, move assignment, a std::vector grown by push_back and an
// optimizer step after its model moved all give the unmoved original's outputs and gradients bit for bit
// (xtensor: no threads, so a pass is deterministic). scripts/checks runs this area under ASan, which would
// catch an arena still reading the layout of the object it was moved from.
#include <doctest/doctest.h>

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "patchzoo/backend/transfer.hpp"
#include "patchzoo/backend/xtensor/xtensor_backend.hpp"
#include "patchzoo/data/markov_tokens.hpp"
#include "patchzoo/dpar/dpar_model.hpp"
#include "patchzoo/dpar/llamagen_model.hpp"
#include "patchzoo/dpar/patcher.hpp"
#include "patchzoo/nn/transformer.hpp"
#include "patchzoo/train/adamw.hpp"
#include "patchzoo/vq/vq_tokenizer.hpp"
#include "patchzoo/zoo/sequential.hpp"
#include "patchzoo/zoo/vit.hpp"
#include "dpar/model_checks.hpp"
#include "support/random.hpp"

using namespace patchzoo;
using be_t = xtensor_backend;

namespace {

std::vector<float> flat_values(be_t& be, const nn::param_arena<be_t, float>& arena) {
  return download(be, arena.flat()).to_vector();
}

void append(std::vector<float>& out, const tensor<float>& t) { out.insert(out.end(), t.data(), t.data() + t.numel()); }

// What a model computes on one fixed input: loss and outputs of a forward pass, then its gradients.
template <class Model>
using pass_fn = std::function<std::vector<float>(be_t&, Model&)>;

template <class Model>
std::vector<float> pass_with_gradients(be_t& be, Model& model, const pass_fn<Model>& forward_backward) {
  model.grads().zero();
  auto out = forward_backward(be, model);
  const auto grads = flat_values(be, model.grads());
  out.insert(out.end(), grads.begin(), grads.end());
  return out;
}

template <class Model>
void check_moves(const std::function<Model(std::uint64_t)>& make, const pass_fn<Model>& forward_backward) {
  be_t be;
  Model original = make(1);
  const auto expected = pass_with_gradients(be, original, forward_backward);
  REQUIRE(expected.size() > original.layout().total());

  Model source = make(1);
  pass_with_gradients(be, source, forward_backward);  // activations allocated before the move
  Model constructed(std::move(source));
  CHECK(pass_with_gradients(be, constructed, forward_backward) == expected);

  Model assigned = make(2);
  pass_with_gradients(be, assigned, forward_backward);  // its own buffers, replaced by the assignment
  assigned = std::move(constructed);
  CHECK(pass_with_gradients(be, assigned, forward_backward) == expected);

  // Growing past the capacity moves every element already there.
  std::vector<Model> models;
  for (std::uint64_t seed = 1; seed <= 5; ++seed) models.push_back(make(seed));
  CHECK(pass_with_gradients(be, models.front(), forward_backward) == expected);
  Model fifth = make(5);
  CHECK(pass_with_gradients(be, models.back(), forward_backward) == pass_with_gradients(be, fifth, forward_backward));

  // An optimizer built from a model keeps working after the model and the optimizer both moved.
  Model unmoved = make(1);
  training::adamw_optimizer<be_t, float> unmoved_opt(unmoved.layout(), {});
  Model before = make(1);
  training::adamw_optimizer<be_t, float> opt(before.layout(), {});
  Model after(std::move(before));
  auto moved_opt = std::move(opt);
  for (int step = 0; step < 2; ++step) {
    pass_with_gradients(be, unmoved, forward_backward);
    unmoved_opt.step(be, unmoved.params(), unmoved.grads(), 1e-2);
    pass_with_gradients(be, after, forward_backward);
    moved_opt.step(be, after.params(), after.grads(), 1e-2);
  }
  CHECK(flat_values(be, after.params()) == flat_values(be, unmoved.params()));
  CHECK(flat_values(be, after.params()) != flat_values(be, make(1).params()));  // the steps did change them
}

const data::markov_tokens& source() {
  static const data::markov_tokens s(10, 2, 5);
  return s;
}

dpar::token_grid_batch grid() {
  rng_stream r(3);
  return test::markov_grid(source(), 2, 12, 4, 3, r);
}

nn::block_config tiny_block() { return {.dim = 16, .heads = 2, .ffn_hidden = 24, .norm_eps = 1e-5f}; }

}  // namespace

TEST_CASE("model moves: transformer") {
  using model_t = nn::transformer<be_t, float>;
  nn::transformer_config cfg{.vocab = 10, .layers = 2, .max_seq = 16, .block = tiny_block()};
  rng_stream r(11);
  const auto batch = source().batch(2, 8, r);
  check_moves<model_t>([&](std::uint64_t seed) { return model_t(cfg, seed); },
                       [&](be_t& be, model_t& m) {
                         std::vector<float> out{static_cast<float>(m.forward(be, batch))};
                         append(out, m.logits(be));
                         m.backward(be);
                         return out;
                       });
}

TEST_CASE("model moves: LlamaGen, conditional and unconditional (the entropy model)") {
  using model_t = dpar::llamagen_model<be_t, float>;
  for (const bool conditional : {true, false}) {
    INFO("conditional " << conditional);
    dpar::llamagen_config cfg{.vocab = 10, .classes = 3, .tokens = 12, .row_width = 4, .layers = 2,
                              .conditional = conditional, .block = tiny_block(), .zero_head = false};
    const auto batch = grid();
    const dpar::step_noise noise{.training = true, .seed = 9};  // dropout masks must survive the move too
    check_moves<model_t>([&](std::uint64_t seed) { return model_t(cfg, seed); },
                         [&](be_t& be, model_t& m) {
                           std::vector<float> out{static_cast<float>(m.forward(be, batch, noise))};
                           append(out, m.logits(be));
                           m.backward(be);
                           return out;
                         });
  }
}

TEST_CASE("model moves: DPAR") {
  using model_t = dpar::dpar_model<be_t, float>;
  dpar::dpar_config cfg{.vocab = 10, .classes = 3, .tokens = 12, .row_width = 4, .encoder_layers = 1,
                        .global_layers = 2, .decoder_layers = 1,
                        .block = {.dim = 32, .heads = 2, .ffn_hidden = 32, .norm_eps = 1e-5f}, .zero_head = false};
  const dpar::patcher_config static_patches{.mode = dpar::patching_mode::static_length, .row_width = 4,
                                            .static_length = 1.5};
  const auto lengths = dpar::patch_lengths(static_patches, {}, 12);
  const auto batch = dpar::make_dpar_batch(grid(), {lengths, lengths});
  const dpar::step_noise noise{.training = true, .seed = 9};
  check_moves<model_t>([&](std::uint64_t seed) { return model_t(cfg, seed); },
                       [&](be_t& be, model_t& m) {
                         std::vector<float> out{static_cast<float>(m.forward(be, batch, noise))};
                         append(out, m.logits(be));
                         append(out, m.global_outputs(be));
                         m.backward(be);
                         return out;
                       });
}

TEST_CASE("model moves: VQ tokenizer") {
  using model_t = vq::vq_tokenizer<be_t, float>;
  vq::vq_config cfg;
  cfg.codebook_size = 16;
  cfg.code_dim = 3;
  cfg.hidden = 4;
  cfg.downsample = 2;
  const auto images = test::random_tensor<float>(shape_t{2, 1, 8, 8}, 5, -1.0, 1.0);
  check_moves<model_t>([&](std::uint64_t seed) { return model_t(cfg, seed); },
                       [&](be_t& be, model_t& m) {
                         const auto losses = m.forward(be, images);
                         std::vector<float> out{static_cast<float>(losses.recon_mse),
                                                static_cast<float>(losses.quantizer)};
                         m.backward(be);
                         append(out, m.reconstruct(be, images));
                         return out;
                       });
}

namespace {

// Logits of a zoo classifier, then the gradients of the sum of its logits.
template <class Model>
std::vector<float> classifier_pass(be_t& be, Model& m, const tensor<float>& images) {
  const auto ws = m.make_workspace();
  std::vector<float> out;
  append(out, download(be, m.forward(be, images, *ws)));
  fill(be, m.logits_grad(*ws), 1.0f);
  m.backward(be, *ws, m.grads());
  return out;
}

}  // namespace

TEST_CASE("model moves: zoo classifiers (sequential CNN and ViT)") {
  const auto images = test::random_tensor<float>(shape_t{2, 1, zoo::image_side, zoo::image_side}, 7, 0.0, 1.0);
  using L = zoo::layer_spec;
  const zoo::sequential_spec cnn{{L::conv2d(2, 3, 1), L::gelu(), L::maxpool2d(4), L::flatten(), L::linear(10)}};
  using cnn_t = zoo::sequential_classifier<be_t, float>;
  check_moves<cnn_t>([&](std::uint64_t seed) { return cnn_t(cnn, seed); },
                     [&](be_t& be, cnn_t& m) { return classifier_pass(be, m, images); });
  using vit_t = zoo::vit_classifier<be_t, float>;
  check_moves<vit_t>([&](std::uint64_t seed) { return vit_t(zoo::vit_spec{4, 8, 2, 8, 1}, seed); },
                     [&](be_t& be, vit_t& m) { return classifier_pass(be, m, images); });
}
