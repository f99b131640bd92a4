// The entropy and DPAR steps on the tiny Markov token file (3 x 4 grids over 10 codes, 3 classes): entropy
// model training and entropies, statistics and theta, patchers, DPAR and baseline training with one recipe,
// per-image costs, and class-conditional sampling from the checkpoints with inference-time overrides.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "patchzoo/dpar/model_checkpoint.hpp"
#include "patchzoo/image/image_reader.hpp"
#include "patchzoo/io/safetensors.hpp"
#include "patchzoo/pipeline/dpar_step.hpp"
#include "patchzoo/pipeline/entropy_step.hpp"
#include "patchzoo/pipeline/sample_step.hpp"
#include "patchzoo/pipeline/tokenizer_step.hpp"
#include "pipeline/pipeline_fixture.hpp"

using namespace patchzoo;
namespace fs = std::filesystem;

namespace {

const pipeline::train_recipe tiny_recipe{.steps = 30, .batch = 8, .lr = 1e-2, .warmup = 3, .dropout = 0.0,
                                         .checkpoint_every = 0, .seed = 7};

double mean_of(const std::vector<dpar::train_step_log>& h, std::size_t from, std::size_t to) {
  double s = 0;
  for (std::size_t i = from; i < to; ++i) s += h[i].loss;
  return s / static_cast<double>(to - from);
}

}  // namespace

TEST_CASE("entropy step: training, entropies equal the model's own, statistics and theta") {
  eigen_backend be;
  const temp_dir scratch("pipeline_entropy");
  const auto& dir = scratch.path;
  const auto data = test::tiny_token_file(64, 31);
  std::int64_t parameters = 0, steps_seen = 0;
  const auto s = pipeline::train_entropy_model(
      be, data, {.dim = 16, .layers = 1, .heads = 2, .ffn = 32}, tiny_recipe, dir / "ent", pipeline::existing_checkpoint::refuse,
      {.on_start = [&](std::int64_t, std::int64_t p) { parameters = p; },
       .on_step = [&](const dpar::train_step_log&) { ++steps_seen; }});
  CHECK(steps_seen == 30);
  CHECK(s.parameters == parameters);
  CHECK(s.steps == 30);
  CHECK(s.images == 64);
  CHECK(mean_of(s.history, 25, 30) < mean_of(s.history, 0, 5) - 0.1);
  CHECK(s.final_loss == s.history.back().loss);
  CHECK(s.train_flops == doctest::Approx(s.history.back().flops));
  CHECK(fs::exists(s.checkpoint));
  CHECK(fs::exists(s.loss_png));  // drawn here, from the history: the trainer writes only loss.csv
  CHECK(s.json()["steps"] == 30);
  // A second run into the same directory is refused unless it resumes.
  CHECK_THROWS_AS(pipeline::train_entropy_model(be, data, {.dim = 16, .layers = 1, .heads = 2, .ffn = 32}, tiny_recipe,
                                                dir / "ent", pipeline::existing_checkpoint::refuse),
                  error);
  CHECK(pipeline::train_entropy_model(be, data, {.dim = 16, .layers = 1, .heads = 2, .ffn = 32}, tiny_recipe,
                                      dir / "ent", pipeline::existing_checkpoint::resume)
            .resumed_at == 30);

  auto model = dpar::load_llamagen(be, s.checkpoint);
  std::int64_t done = 0;
  const auto pass = pipeline::compute_entropies(be, *model, data, 24, [&](std::int64_t d) { done = d; });
  CHECK(done == 64);
  REQUIRE(pass.entropies.count() == 64);
  const auto direct = model->next_token_entropies(be, dpar::token_grid_batch{12, 4, {data.image(0), data.image(64)}, {}});
  for (std::int64_t i = 0; i < direct.numel(); ++i)
    CHECK(pass.entropies.values[static_cast<std::size_t>(i)] == doctest::Approx(direct[i]).epsilon(1e-5));
  const double loss = model->forward(be, dpar::token_grid_batch{12, 4, {data.image(0), data.image(64)}, {}});
  CHECK(pass.mean_nll == doctest::Approx(loss).epsilon(1e-5));

  // A class-conditional model (a converted c2i GPT) scores through its CFG null class, x_0 included.
  dpar::llamagen_model<eigen_backend, float> conditional(test::tiny_llamagen_config(true), 1);
  const auto null_pass = pipeline::compute_entropies(be, conditional, data, 24);
  const std::vector<std::int32_t> null_labels(64, static_cast<std::int32_t>(conditional.config().classes));
  const auto null_direct =
      conditional.next_token_entropies(be, dpar::token_grid_batch{12, 4, {data.image(0), data.image(64)}, null_labels});
  REQUIRE(null_pass.entropies.values.size() == static_cast<std::size_t>(null_direct.numel()));
  for (std::int64_t i = 0; i < null_direct.numel(); ++i)
    CHECK(null_pass.entropies.values[static_cast<std::size_t>(i)] == doctest::Approx(null_direct[i]).epsilon(1e-5));
  CHECK(null_pass.entropies.values[0] > 0.0f);

  const auto row_mode = dpar::patching_mode::entropy_row_boundary;
  const auto th = pipeline::threshold_for_mean_length(pass.entropies, 1.6, 3, row_mode);
  CHECK(th.patcher.mode == dpar::patching_mode::entropy_row_boundary);
  CHECK(th.patcher.max_patch_length == 3);
  CHECK(th.patcher.row_width == 4);
  CHECK(th.mean_length == doctest::Approx(dpar::mean_patch_length(th.patcher, pass.entropies.values, 12)));
  CHECK(std::abs(th.mean_length - 1.6) < 0.15);
  CHECK(th.mean_patches == doctest::Approx(12 / th.mean_length));
  CHECK(th.token_reduction == doctest::Approx(1 - th.mean_patches / 12));
  CHECK(pipeline::threshold_for_mean_length(pass.entropies, 1.6, 3, dpar::patching_mode::entropy).patcher.mode ==
        dpar::patching_mode::entropy);
  CHECK_THROWS_WITH_AS(pipeline::threshold_for_mean_length(pass.entropies, 1.6, 3, dpar::patching_mode::token),
                       doctest::Contains("patching mode token has no threshold"), error);
}

TEST_CASE("summarize_entropies: mean and quantiles over H_t for t >= 1") {
  dpar::entropy_file e{1, 5, {}};
  for (int i = 0; i < 2; ++i) e.values.insert(e.values.end(), {100.0f, 1.0f + i, 2.0f + i, 3.0f + i, 4.0f + i});
  // H values (column 0 ignored): 1 2 3 4 2 3 4 5 -> sorted 1 2 2 3 3 4 4 5
  const auto s = pipeline::summarize_entropies(e);
  CHECK(s.mean == doctest::Approx(3.0));
  CHECK(s.q10 == 1.0);
  CHECK(s.q50 == 3.0);
  CHECK(s.q90 == 4.0);
  CHECK_THROWS_AS(pipeline::summarize_entropies(dpar::entropy_file{1, 5, {}}), error);
}

TEST_CASE("make_patcher: fitted or given theta, static and token modes, entropy modes need the file") {
  const auto data = test::tiny_token_file(16, 3);
  dpar::entropy_file e{3, 4, std::vector<float>(16 * 12, 0.0f)};
  rng_stream r(4);
  for (auto& v : e.values) v = 3.0f * r.uniform();
  const auto fitted = pipeline::make_patcher(data, &e, {.target = 1.5, .max_patch = 4});
  CHECK(fitted.patcher.threshold == doctest::Approx(dpar::find_threshold(fitted.patcher, e.values, 12, 1.5)));
  CHECK(fitted.mean_patches == doctest::Approx(12 / fitted.mean_length));
  const auto given = pipeline::make_patcher(data, &e, {.threshold = 100.0, .max_patch = 0});
  CHECK(given.patcher.threshold == 100.0);
  CHECK(given.mean_length == doctest::Approx(12.0 / 4.0));  // starts: 0, 1, and rows 4, 8 -> 4 patches
  const auto token = pipeline::make_patcher(data, nullptr, {.mode = dpar::patching_mode::token});
  CHECK(token.mean_length == 1.0);
  const auto fixed = pipeline::make_patcher(data, nullptr, {.mode = dpar::patching_mode::static_length, .static_length = 2.0});
  CHECK(fixed.mean_length == doctest::Approx(2.0));
  CHECK_THROWS_AS(pipeline::make_patcher(data, nullptr, {}), error);
  dpar::entropy_file other{3, 4, std::vector<float>(15 * 12, 0.0f)};
  CHECK_THROWS_AS(pipeline::make_patcher(data, &other, {}), error);
}

TEST_CASE("dpar step: DPAR and the same-depth baseline train with one recipe, costs, sampling from checkpoints") {
  eigen_backend be;
  const temp_dir scratch("pipeline_dpar");
  const auto& dir = scratch.path;
  const auto data = test::tiny_token_file(64, 41);
  const pipeline::ar_model_options shape{.dim = 32, .heads = 2, .ffn = 32, .layers = 3, .encoder_layers = 1,
                                         .global_layers = 1, .decoder_layers = 1, .classes = 3};
  const auto ent_summary = pipeline::train_entropy_model(be, data, {.dim = 16, .layers = 1, .heads = 2, .ffn = 32},
                                                         tiny_recipe, dir / "ent", pipeline::existing_checkpoint::refuse);
  auto ent = dpar::load_llamagen(be, ent_summary.checkpoint);
  const auto entropies = pipeline::compute_entropies(be, *ent, data, 64).entropies;
  const auto patching = pipeline::make_patcher(data, &entropies, {.target = 1.6, .max_patch = 3});

  const auto d = pipeline::train_dpar(be, data, &entropies, patching.patcher, shape, tiny_recipe, dir / "dpar", pipeline::existing_checkpoint::refuse);
  const auto b = pipeline::train_baseline(be, data, shape, tiny_recipe, dir / "baseline", pipeline::existing_checkpoint::refuse);
  for (const auto* s : {&d, &b}) {
    CHECK(s->steps == 30);
    CHECK(mean_of(s->history, 25, 30) < mean_of(s->history, 0, 5) - 0.1);
  }
  // The checkpoints hold the configs the options describe, and DPAR's patcher.
  dpar::patcher_config loaded;
  const auto dpar_model = dpar::load_dpar(be, d.checkpoint, loaded);
  CHECK(loaded.threshold == patching.patcher.threshold);
  CHECK(loaded.max_patch_length == 3);
  CHECK(dpar_model->config().global_layers == 1);
  CHECK(dpar_model->config().block.dim == 32);
  const auto baseline_model = dpar::load_llamagen(be, b.checkpoint);
  CHECK_THROWS_WITH_AS(dpar::load_dpar(be, b.checkpoint, loaded), doctest::Contains("holds a baseline model, not a DPAR one"),
                       error);
  CHECK(baseline_model->config().layers == 3);
  CHECK(baseline_model->config().conditional);

  // Per-image costs: the baseline's training FLOPs are what the trainer counted per image.
  const auto cb = pipeline::baseline_cost(pipeline::baseline_config(data, shape, 0));
  const auto cd = pipeline::dpar_cost(pipeline::dpar_config_for(data, shape, 0), patching.mean_patches);
  CHECK(cb.parameters == b.parameters);
  CHECK(cd.parameters == d.parameters);
  CHECK(b.train_flops == doctest::Approx(cb.training_flops * 30 * 8));
  CHECK(cd.training_flops == doctest::Approx(3 * cd.forward_flops));
  CHECK(d.train_flops / (30 * 8) == doctest::Approx(cd.training_flops).epsilon(0.05));  // real P_i vs mean M
  const auto dpar_config = pipeline::dpar_config_for(data, shape, 0);
  CHECK(pipeline::dpar_cost(dpar_config, 6.0).paper_macs < pipeline::dpar_cost(dpar_config, 12.0).paper_macs);

  const dpar::sampling_config sc{.cfg_scale = 2.0, .temperature = 1.0, .top_k = 0, .top_p = 1.0, .seed = 9};
  const auto labels = pipeline::class_labels(pipeline::parse_classes("0,2", 3), 2);
  CHECK(labels == std::vector<std::int32_t>{0, 0, 2, 2});
  std::int64_t last_step = 0;
  const auto sb = pipeline::sample_checkpoint(be, b.checkpoint, {}, labels, sc, 10, {},
                                              [&](std::int64_t s) { last_step = s; });
  CHECK(last_step == 12);
  CHECK(sb.kind == dpar::model_kind::baseline);
  CHECK(sb.global_steps_per_image == 12);
  const auto sd = pipeline::sample_checkpoint(be, d.checkpoint, ent_summary.checkpoint, labels, sc, 10);
  CHECK(sd.kind == dpar::model_kind::dpar);
  CHECK(sd.threshold == patching.patcher.threshold);
  for (const auto* s : {&sb, &sd}) {
    REQUIRE(s->tokens.size() == 4);
    CHECK(s->grid_h == 3);
    CHECK(s->grid_w == 4);
    for (const auto& row : s->tokens) {
      CHECK(row.size() == 12);
      CHECK(*std::max_element(row.begin(), row.end()) < 10);
    }
  }
  double patches = 0;
  for (const auto& len : sd.lengths) {
    CHECK(std::accumulate(len.begin(), len.end(), 0) == 12);
    patches += static_cast<double>(len.size());
  }
  CHECK(sd.global_steps_per_image == doctest::Approx(patches / 4));
  CHECK(sd.mean_patch_length == doctest::Approx(48 / patches));
  // Same seed, same samples; an in-memory model samples what its checkpoint samples.
  CHECK(pipeline::sample_dpar(be, *dpar_model, ent.get(), loaded, labels, sc, 10).tokens == sd.tokens);

  // Inference-time overrides: a huge theta leaves only forced and row starts, then P_max cuts the rows.
  const auto wide = pipeline::sample_checkpoint(be, d.checkpoint, ent_summary.checkpoint, labels, sc, 10,
                                                {.threshold = 1e6, .max_patch = 0});
  CHECK(wide.threshold == 1e6);
  for (const auto& len : wide.lengths) CHECK(len == std::vector<std::int32_t>{1, 3, 4, 4});
  const auto capped = pipeline::sample_checkpoint(be, d.checkpoint, ent_summary.checkpoint, labels, sc, 10,
                                                  {.threshold = 1e6, .max_patch = 2});
  for (const auto& len : capped.lengths) CHECK(len == std::vector<std::int32_t>{1, 2, 1, 2, 2, 2, 2});
  CHECK_THROWS_WITH_AS(pipeline::sample_checkpoint(be, ent_summary.checkpoint, {}, labels, sc, 10),
                       doctest::Contains("holds the unconditional entropy model"), error);
  CHECK_THROWS_AS(pipeline::sample_checkpoint(be, d.checkpoint, {}, labels, sc, 10), error);  // entropy model missing
  safetensors_writer not_a_model;  // a file of tensors without the metadata of a model
  const tensor<float> weight(shape_t{2, 2});
  not_a_model.add("weight", weight.cview());
  not_a_model.write(dir / "weights.safetensors");
  CHECK_THROWS_WITH_AS(dpar::read_checkpoint_metadata(dir / "weights.safetensors"),
                       doctest::Contains("weights.safetensors is not a patchzoo model checkpoint"), error);

  // Decoded class grid and the samples as a token file.
  vq::vq_tokenizer<eigen_backend, float> tok(test::tiny_tokenizer_config(), 1);
  const auto f = pipeline::samples_token_file(sd, 10);
  CHECK(f.count() == 4);
  CHECK(f.labels == std::vector<std::uint16_t>{0, 0, 2, 2});
  patchzoo::data::write_token_file(dir / "s.pztok", f);
  CHECK(patchzoo::data::read_token_file(dir / "s.pztok").tokens == f.tokens);
  const auto images = pipeline::decode_tokens(be, tok, sd.tokens, 3, 4);
  CHECK(images.dim(0) == 4);
  pipeline::write_class_grid(dir / "grid.png", images, {0, 2}, 2, 3);
  const auto png = image::read_image(dir / "grid.png");
  CHECK(png.height > 2 * 2 * images.dim(2));
  CHECK(png.width > 2 * 2 * images.dim(3));
  // The commands lay the grid out before sampling: one too large to write is refused at once.
  CHECK(image::layout_grid(32, 32, pipeline::class_grid({0, 2}, 400, 3)).width > 400 * 64);
  CHECK_THROWS_WITH_AS(image::layout_grid(32, 32, pipeline::class_grid({0, 2}, 2000000000, 3)),
                       doctest::Contains("a grid of 2 x 2000000000 images of 32x32"), error);
}

TEST_CASE("parse_classes: lists and ranges inside [0, classes); anything else is refused") {
  CHECK(pipeline::parse_classes("0-2,5", 10) == std::vector<std::int32_t>{0, 1, 2, 5});
  CHECK(pipeline::parse_classes("7", 10) == std::vector<std::int32_t>{7});
  for (const char* bad : {"", "3-1", "10", "a", "0-10", "1,,2"}) CHECK_THROWS_AS(pipeline::parse_classes(bad, 10), error);
}
