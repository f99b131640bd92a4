// The DPAR model: whole-model gradients against finite differences (every stage, token and label dropout
// on, an empty last encoder patch), the encoder's patch init, packing without cross-image leakage,
// end-to-end causality with patch lengths recomputed from an entropy model, the decoder's G[pi(j)] reads,
// eigen vs xtensor, a short training run and the parameter count against the FLOP counter's.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "patchzoo/backend/eigen/eigen_backend.hpp"
#include "patchzoo/backend/xtensor/xtensor_backend.hpp"
#include "patchzoo/dpar/dpar_model.hpp"
#include "patchzoo/dpar/flops.hpp"
#include "patchzoo/dpar/llamagen_model.hpp"
#include "patchzoo/train/adamw.hpp"
#include "support/compare.hpp"
#include "dpar/model_checks.hpp"

using namespace patchzoo;

namespace {

constexpr std::int64_t vocab = 10, classes = 3, tokens = 12, width = 4;

dpar::dpar_config tiny_dpar(dpar::global_position positions = dpar::global_position::dynamic_4d) {
  dpar::dpar_config c;
  c.vocab = vocab;
  c.classes = classes;
  c.tokens = tokens;
  c.row_width = width;
  c.encoder_layers = 1;
  c.global_layers = 2;
  c.decoder_layers = 2;
  c.block = {.dim = 32, .heads = 2, .ffn_hidden = 32, .norm_eps = 1e-5f};  // head_dim 16: dynamic RoPE
  c.positions = positions;
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
  return test::markov_grid(source(), images, tokens, width, classes, r);
}

dpar::patcher_config patcher(double threshold) {
  return {.mode = dpar::patching_mode::entropy_row_boundary, .threshold = threshold, .max_patch_length = 2,
          .row_width = static_cast<int>(width)};
}

// Lengths of one image from fixed entropies H_t = seeded uniform [0, 2) (H_{T-1} forced high, so the last
// patch holds x_{T-1} alone and pools no encoder token).
std::vector<std::int32_t> seeded_lengths(std::uint64_t seed) {
  std::vector<float> h(tokens);
  for (std::int64_t t = 0; t < tokens; ++t) h[t] = 2.0f * uniform01(seed, static_cast<std::uint64_t>(t));
  h[tokens - 1] = 5.0f;
  return dpar::patch_lengths(patcher(1.0), h, tokens);
}

dpar::dpar_batch batch_of(const dpar::token_grid_batch& g, std::uint64_t seed) {
  std::vector<std::vector<std::int32_t>> lengths;
  for (std::int64_t i = 0; i < g.images(); ++i) lengths.push_back(seeded_lengths(seed + static_cast<std::uint64_t>(i)));
  return dpar::make_dpar_batch(g, lengths);
}

}  // namespace

TEST_CASE("dpar_batch: packed offsets, pooled spans, slot sources and the slot each token reads") {
  dpar::token_grid_batch g{4, 2, {1, 2, 3, 4, 5, 6, 7, 8}, {0, 2}};
  const auto b = dpar::make_dpar_batch(g, {{1, 2, 1}, {1, 3}});
  CHECK(b.token_offsets == std::vector<std::int32_t>{0, 4, 8});
  CHECK(b.encoder_offsets == std::vector<std::int32_t>{0, 3, 6});
  CHECK(b.patch_offsets == std::vector<std::int32_t>{0, 3, 5});
  CHECK(b.slot_offsets == std::vector<std::int32_t>{0, 4, 7});
  CHECK(b.pool_offsets == std::vector<std::int32_t>{0, 1, 3, 3, 4, 6});  // last patch of image 0 is empty
  CHECK(b.slot_sources == std::vector<std::int32_t>{5, 0, 1, 2, 6, 3, 4});
  // x_0 reads G[0] (class only); x_1, x_2 read G[1]; x_3 reads G[2].
  CHECK(b.token_slots == std::vector<std::int32_t>{0, 1, 1, 2, 4, 5, 5, 5});
  CHECK_THROWS_WITH_AS(dpar::make_dpar_batch(g, {{1, 2}, {1, 3}}), doctest::Contains("sum to 3, not 4"),
                       patchzoo::error);
  CHECK_THROWS_WITH_AS(dpar::make_dpar_batch(g, {{1, 3}}), doctest::Contains("1 patch-length lists for 2 images"),
                       patchzoo::error);
}

TEST_CASE("dpar: whole-model gradient matches finite differences, with token and label dropout") {
  struct variant {
    dpar::global_position positions;
    std::int64_t enc, glob, dec;
  };
  for (const variant v : {variant{dpar::global_position::dynamic_4d, 1, 2, 2},
                          variant{dpar::global_position::slot_1d, 2, 1, 1}}) {
    INFO("encoder " << v.enc << " global " << v.glob << " decoder " << v.dec);
    xtensor_backend be;
    auto cfg = tiny_dpar(v.positions);
    cfg.encoder_layers = v.enc;
    cfg.global_layers = v.glob;
    cfg.decoder_layers = v.dec;
    cfg.label_dropout = 0.5f;
    dpar::dpar_model<xtensor_backend, double> model(cfg, 1);
    const auto batch = batch_of(grid(2, 2), 3);
    const dpar::step_noise noise{.training = true, .seed = 9};
    model.grads().zero();
    model.forward(be, batch, noise);
    model.backward(be);
    test::check_model_gradient(model, [&] { return model.forward(be, batch, noise); });
  }
}

TEST_CASE("dpar: token, label and global-block dropout act only in training, each on its own") {
  xtensor_backend be;
  const auto batch = batch_of(grid(6, 5), 7);  // six labels: label dropout at p = 0.5 drops some
  auto cfg = tiny_dpar();
  cfg.token_dropout = cfg.label_dropout = cfg.global_dropout = 0.0f;
  dpar::dpar_model<xtensor_backend, double> plain(cfg, 1);
  const double eval = plain.forward(be, batch);
  CHECK(plain.forward(be, batch, {.training = true, .seed = 4}) == eval);
  for (float dpar::dpar_config::*p : {&dpar::dpar_config::token_dropout, &dpar::dpar_config::label_dropout,
                                      &dpar::dpar_config::global_dropout}) {
    auto one = cfg;
    one.*p = 0.5f;
    dpar::dpar_model<xtensor_backend, double> model(one, 1);
    CHECK(model.forward(be, batch) == eval);
    const double a = model.forward(be, batch, {.training = true, .seed = 4});
    CHECK(a != eval);
    CHECK(model.forward(be, batch, {.training = true, .seed = 4}) == a);
  }
}

TEST_CASE("dpar: with patches of length 1 every patch starts as its token's state; an empty patch as zeros") {
  xtensor_backend be;
  dpar::dpar_model<xtensor_backend, double> model(tiny_dpar(), 2);
  const auto g = grid(2, 4);
  const auto batch = dpar::make_dpar_batch(g, {std::vector<std::int32_t>(tokens, 1), std::vector<std::int32_t>(tokens, 1)});
  model.forward(be, batch);
  const auto h = download(be, model.encoder().token_states());
  const auto pooled = download(be, model.encoder().pooled_patches());
  const std::int64_t d = 32;
  REQUIRE(pooled.dim(0) == 2 * tokens);
  for (std::int64_t i = 0; i < 2; ++i)
    for (std::int64_t p = 0; p < tokens; ++p)
      for (std::int64_t k = 0; k < d; ++k) {
        const double want = p < tokens - 1 ? h[(i * (tokens - 1) + p) * d + k] : 0.0;  // x_{T-1} is no input
        CHECK(pooled[(i * tokens + p) * d + k] == want);
      }
}

TEST_CASE("dpar: a packed batch equals its images run alone, and images never see each other") {
  xtensor_backend be;
  dpar::dpar_model<xtensor_backend, double> model(tiny_dpar(), 5);
  auto g = grid(3, 6);
  auto batch = batch_of(g, 11);
  REQUIRE(batch.lengths[0].size() != batch.lengths[1].size());  // different patch counts are packed
  model.forward(be, batch);
  const tensor<double> packed = model.logits(be);
  const std::int64_t per_image = tokens * vocab;
  for (std::int64_t i = 0; i < 3; ++i) {
    dpar::token_grid_batch alone{tokens, width, {g.tokens.begin() + i * tokens, g.tokens.begin() + (i + 1) * tokens},
                                 {g.labels[i]}};
    model.forward(be, dpar::make_dpar_batch(alone, {batch.lengths[i]}));
    const tensor<double> own = model.logits(be);
    for (std::int64_t k = 0; k < per_image; ++k)
      CHECK(own[k] == doctest::Approx(packed[i * per_image + k]).epsilon(1e-12));
  }
  // Changing image 2 (tokens, label and patch lengths) leaves images 0 and 1 unchanged.
  for (std::int64_t t = 0; t < tokens; ++t) g.tokens[2 * tokens + t] = (g.tokens[2 * tokens + t] + 3) % vocab;
  g.labels[2] = (g.labels[2] + 1) % classes;
  auto lengths = batch.lengths;
  lengths[2] = std::vector<std::int32_t>(tokens, 1);
  model.forward(be, dpar::make_dpar_batch(g, lengths));
  const tensor<double> changed = model.logits(be);
  for (std::int64_t k = 0; k < 2 * per_image; ++k) CHECK(changed[k] == doctest::Approx(packed[k]).epsilon(1e-12));
  bool image2_moved = false;
  for (std::int64_t k = 2 * per_image; k < 3 * per_image; ++k) image2_moved |= changed[k] != packed[k];
  CHECK(image2_moved);
}

TEST_CASE("dpar: end to end, perturbing x_j (lengths recomputed from an entropy model) changes no logit at <= j") {
  xtensor_backend be;
  auto ecfg = dpar::llamagen_config{};
  ecfg.vocab = vocab;
  ecfg.tokens = tokens;
  ecfg.row_width = width;
  ecfg.layers = 1;
  ecfg.conditional = false;
  ecfg.block = {.dim = 16, .heads = 2, .ffn_hidden = 16, .norm_eps = 1e-5f};
  ecfg.init_std = 0.5;
  ecfg.zero_head = false;
  dpar::llamagen_model<xtensor_backend, double> entropy_model(ecfg, 8);
  dpar::dpar_model<xtensor_backend, double> model(tiny_dpar(), 6);
  const auto base_grid = grid(1, 12);

  auto h0 = entropy_model.next_token_entropies(be, base_grid);
  std::vector<double> sorted(h0.data() + 1, h0.data() + tokens);
  std::sort(sorted.begin(), sorted.end());
  const auto cfg = patcher(sorted[sorted.size() / 2]);  // the median: a real mix of patch starts
  const auto lengths_of = [&](const dpar::token_grid_batch& g) {
    const auto h = entropy_model.next_token_entropies(be, g);
    const std::vector<float> hf(h.data(), h.data() + tokens);
    return dpar::patch_lengths(cfg, hf, tokens);
  };
  const auto base_lengths = lengths_of(base_grid);
  model.forward(be, dpar::make_dpar_batch(base_grid, {base_lengths}));
  const tensor<double> base = model.logits(be);
  int lengths_changed = 0;
  for (std::int64_t j = 0; j < tokens; ++j) {
    INFO("perturbed x_" << j);
    auto moved = base_grid;
    moved.tokens[j] = (moved.tokens[j] + 1) % vocab;
    const auto lengths = lengths_of(moved);
    lengths_changed += lengths != base_lengths;
    model.forward(be, dpar::make_dpar_batch(moved, {lengths}));
    const tensor<double> out = model.logits(be);
    bool later_moved = false;
    for (std::int64_t s = 0; s < tokens; ++s)
      for (std::int64_t v = 0; v < vocab; ++v) {
        const std::int64_t k = s * vocab + v;
        if (s <= j) CHECK(out[k] == doctest::Approx(base[k]).epsilon(1e-12));
        else later_moved |= std::abs(out[k] - base[k]) > 1e-9;
      }
    if (j + 1 < tokens) CHECK(later_moved);
  }
  MESSAGE(lengths_changed << " of " << tokens << " perturbations changed the patch lengths");
  CHECK(lengths_changed > 0);  // the test exercised re-patching, not only fixed lengths
}

TEST_CASE("dpar decoder: position j reads G[pi(j)]; later slots and the last slot G[P] reach no earlier position") {
  xtensor_backend be;
  const nn::block_config c{.dim = 16, .heads = 2, .ffn_hidden = 16, .norm_eps = 1e-5f};
  nn::param_layout layout;
  dpar::local_decoder<xtensor_backend, double> decoder(layout, "decoder", c, 2, vocab);
  nn::param_arena<xtensor_backend, double> params(layout);
  nn::initialize_params(params, 3, 0.3);
  const std::vector<std::int32_t> lengths{1, 2, 1, 2, 2, 2, 2};  // 7 patches, 8 global slots
  const auto batch = dpar::make_dpar_batch(grid(1, 2), {lengths});
  const std::int64_t slots = batch.slots();
  tensor<double> enc(shape_t{tokens - 1, c.dim}), global(shape_t{slots, c.dim});
  for (std::int64_t i = 0; i < enc.numel(); ++i) enc[i] = normal01(17, static_cast<std::uint64_t>(i));
  for (std::int64_t i = 0; i < global.numel(); ++i) global[i] = normal01(18, static_cast<std::uint64_t>(i));
  const auto rope = dpar::rope_grid_tokens<double>(tokens - 1, width, 8, dpar::grid_rope_start::zero_slot);
  const nn::token_layout<xtensor_backend, double> where{rope.cos.clone(), rope.sin.clone(),
                                                        causal_ranges(batch.token_offsets)};
  const tensor<std::int32_t> token_slots(shape_t{tokens}, batch.token_slots);
  decoder.prepare(tokens, slots);
  const auto run = [&] {
    decoder.forward(be, params, where, enc.cview(), global.cview(), token_slots.cview(), tokens);
    return download(be, decoder.logits());
  };
  const tensor<double> base = run();
  const auto pi = dpar::patch_ids(lengths);
  for (std::int64_t k = 0; k < slots; ++k) {
    INFO("perturbed G[" << k << "]");
    const tensor<double> saved = global.clone();
    for (std::int64_t d = 0; d < c.dim; ++d) global[k * c.dim + d] += 0.5;
    const tensor<double> out = run();
    global = saved.clone();
    for (std::int64_t j = 0; j < tokens; ++j) {
      bool moved = false;
      for (std::int64_t v = 0; v < vocab; ++v) moved |= out[j * vocab + v] != base[j * vocab + v];
      if (pi[j] < k) CHECK_MESSAGE(!moved, "position ", j, " of patch ", pi[j]);
      if (pi[j] == k) CHECK_MESSAGE(moved, "position ", j, " of patch ", pi[j]);
    }
  }
}

TEST_CASE("dpar: eigen and xtensor agree on loss and gradients (float)") {
  xtensor_backend xb;
  eigen_backend eb;
  const auto cfg = tiny_dpar();
  dpar::dpar_model<xtensor_backend, float> xm(cfg, 4);
  dpar::dpar_model<eigen_backend, float> em(cfg, 4);
  const auto batch = batch_of(grid(3, 10), 20);
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

TEST_CASE("dpar: 40 training steps on a structured token grid lower the loss") {
  eigen_backend be;
  auto cfg = tiny_dpar();
  cfg.init_std = 0.02;
  cfg.zero_head = true;
  dpar::dpar_model<eigen_backend, float> model(cfg, 7);
  training::adamw_optimizer<eigen_backend, float> opt(model.layout(), {.weight_decay = 0.05});
  rng_stream r(11);
  std::vector<double> losses;
  for (int s = 0; s < 40; ++s) {
    const auto batch = batch_of(test::markov_grid(source(), 4, tokens, width, classes, r), 100 + 4 * s);
    model.grads().zero();
    losses.push_back(model.forward(be, batch, {.training = true, .seed = static_cast<std::uint64_t>(s)}));
    model.backward(be);
    training::clip_grad_norm(be, model.grads(), 1.0);
    opt.step(be, model.params(), model.grads(), 3e-3);
  }
  MESSAGE("loss " << losses.front() << " -> " << losses.back() << " (source entropy rate " << source().entropy_rate()
                  << ")");
  CHECK(losses.front() == doctest::Approx(std::log(10.0)).epsilon(1e-3));  // zero head: uniform start
  CHECK(losses.back() < losses.front() - 0.5);
}

TEST_CASE("dpar and llamagen: parameter counts from the layouts equal the FLOP counter's") {
  dpar::dpar_config d = tiny_dpar();
  d.encoder_layers = 1;
  d.global_layers = 3;
  d.decoder_layers = 2;
  const dpar::ar_shape shape{.dim = 32, .heads = 2, .ffn_hidden = 32, .vocab = vocab, .classes = classes + 1,
                             .tokens = tokens};
  dpar::dpar_model<eigen_backend, float> dm(d, 1);
  CHECK(dm.layout().total() == dpar::dpar_parameters(shape, {.encoder = 1, .global = 3, .decoder = 2}));
  dpar::llamagen_config l;
  l.vocab = vocab;
  l.classes = classes;
  l.tokens = tokens;
  l.row_width = width;
  l.layers = 6;
  l.block = d.block;
  dpar::llamagen_model<eigen_backend, float> lm(l, 1);
  CHECK(lm.layout().total() == dpar::llamagen_parameters(shape, 6));
}

TEST_CASE("dpar: bad batches are rejected with a message naming the problem") {
  eigen_backend be;
  dpar::dpar_model<eigen_backend, float> model(tiny_dpar(), 1);
  auto batch = batch_of(grid(2, 1), 1);
  batch.grid.tokens[3] = 10;
  CHECK_THROWS_WITH_AS(model.forward(be, batch), doctest::Contains("token 10 at position 3"), patchzoo::error);
  batch = batch_of(grid(2, 1), 1);
  batch.token_slots.clear();
  CHECK_THROWS_WITH_AS(model.forward(be, batch), doctest::Contains("make_dpar_batch"), patchzoo::error);
  CHECK_THROWS_AS(model.backward(be), patchzoo::error);
  dpar::token_grid_batch other{8, 4, std::vector<std::int32_t>(8, 1), {0}};
  CHECK_THROWS_WITH_AS(model.forward(be, dpar::make_dpar_batch(other, {{4, 4}})), doctest::Contains("does not match"),
                       patchzoo::error);
}
