// The sampler: filters (top-k = 0 / top-p = 1 are off), guidance (scale 1 = conditional sampling),
// train/sample consistency for LlamaGen and DPAR (every stage KV-cached; every patching mode, RoPE layout
// and a deeper encoder/decoder; the re-forward anchor agrees), prefix-stability checks, seeding, and a tiny
// end-to-end pipeline: entropy model -> entropies -> threshold -> DPAR -> samples.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <set>
#include <vector>

#include "dpar/tiny_pipeline.hpp"
#include "support/temp_dir.hpp"
#include "patchzoo/backend/eigen/eigen_backend.hpp"
#include "patchzoo/backend/xtensor/xtensor_backend.hpp"
#include "patchzoo/dpar/entropy_file.hpp"
#include "patchzoo/dpar/model_checkpoint.hpp"
#include "patchzoo/dpar/sampler.hpp"
#include "patchzoo/dpar/trainer.hpp"

using namespace patchzoo;
namespace fs = std::filesystem;

namespace {

using llama = dpar::llamagen_model<xtensor_backend, float>;
using dpar_m = dpar::dpar_model<xtensor_backend, float>;

dpar::token_grid_batch grid_of(const data::token_file& f, bool null_labels, std::int64_t classes) {
  dpar::token_grid_batch g{f.tokens_per_image(), f.grid_w, {}, {}};
  g.tokens.assign(f.tokens.begin(), f.tokens.end());
  for (const auto l : f.labels) g.labels.push_back(null_labels ? static_cast<std::int32_t>(classes) : l);
  return g;
}

dpar::token_rows rows_of(const data::token_file& f) {
  dpar::token_rows r;
  for (std::int64_t i = 0; i < f.count(); ++i) r.emplace_back(f.image(i), f.image(i) + f.tokens_per_image());
  return r;
}

std::vector<std::int32_t> labels_of(const data::token_file& f) { return {f.labels.begin(), f.labels.end()}; }

void check_rows(const tensor<float>& step, const tensor<float>& full, std::int64_t t, std::int64_t slots,
                std::int64_t offset) {
  const std::int64_t n = step.dim(0), v = step.dim(1);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t c = 0; c < v; ++c) {
      INFO("image " << i << " position " << t << " class " << c);
      CHECK(step[i * v + c] == doctest::Approx(full[(i * slots + t - offset) * v + c]).epsilon(1e-4));
    }
}

// Entropies of the full sequences from the teacher-forced entropy model, and the threshold at their median.
template <class B, class Model>
std::vector<std::vector<float>> entropy_rows(B& be, Model& ent, const data::token_file& f) {
  const auto h = ent.next_token_entropies(be, grid_of(f, false, 0));
  std::vector<std::vector<float>> rows;
  for (std::int64_t i = 0; i < f.count(); ++i) rows.emplace_back(h.data() + i * 12, h.data() + (i + 1) * 12);
  return rows;
}

double median_entropy(const std::vector<std::vector<float>>& rows) {
  std::vector<float> all;
  for (const auto& r : rows) all.insert(all.end(), r.begin() + 1, r.end());
  std::nth_element(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(all.size() / 2), all.end());
  return all[all.size() / 2];
}

}  // namespace

TEST_CASE("sampling filters: top-k = 0 and top-p = 1 are off; top-k, top-p, temperature act as specified") {
  const std::vector<double> logits{1.0, 3.0, 2.0, 0.5, 3.0};
  dpar::sampling_config off;
  const auto p = dpar::sampling_probabilities(logits, off);
  double z = 0;
  for (const double l : logits) z += std::exp(l);
  for (std::size_t i = 0; i < logits.size(); ++i) CHECK(p[i] == doctest::Approx(std::exp(logits[i]) / z));

  auto k2 = off;
  k2.top_k = 2;  // the two 3.0s
  const auto pk = dpar::sampling_probabilities(logits, k2);
  CHECK(pk == std::vector<double>{0.0, 0.5, 0.0, 0.0, 0.5});
  k2.top_k = 3;
  const auto pk3 = dpar::sampling_probabilities(logits, k2);
  CHECK(pk3[0] == 0.0);
  CHECK(pk3[3] == 0.0);
  CHECK(pk3[2] > 0.0);

  auto tp = off;
  tp.top_p = 0.5;  // the largest class alone has p[1] < 0.5: the tie partner joins, then the mass exceeds 0.5
  const auto pp = dpar::sampling_probabilities(logits, tp);
  CHECK(pp[1] == doctest::Approx(0.5));
  CHECK(pp[4] == doctest::Approx(0.5));
  CHECK(pp[2] == 0.0);
  tp.top_p = 0.2;  // one class already exceeds it
  const auto pp1 = dpar::sampling_probabilities(logits, tp);
  CHECK(std::count_if(pp1.begin(), pp1.end(), [](double v) { return v > 0; }) == 1);

  auto cold = off;
  cold.temperature = 0.5;
  const auto pc = dpar::sampling_probabilities(logits, cold);
  CHECK(pc[1] / pc[2] == doctest::Approx(std::exp(2.0)));

  const std::vector<float> c{1.0f, 2.0f}, u{0.5f, 3.0f};
  CHECK(dpar::guided_logits(c.data(), u.data(), 2, 2.0) == std::vector<double>{1.5, 1.0});
  CHECK(dpar::guided_logits(c.data(), u.data(), 2, 1.0) == std::vector<double>{1.0, 2.0});
  CHECK(dpar::guided_logits(c.data(), nullptr, 2, 5.0) == std::vector<double>{1.0, 2.0});

  CHECK(dpar::draw_token({0.0, 0.25, 0.75}, 0.0) == 1);
  CHECK(dpar::draw_token({0.0, 0.25, 0.75}, 0.3) == 2);
  CHECK(dpar::draw_token({0.5, 0.5, 0.0}, 0.999999999) == 1);
  auto bad = off;
  bad.top_p = 0.0;
  CHECK_THROWS_WITH_AS(dpar::sampling_probabilities(logits, bad), doctest::Contains("top_p 0"), patchzoo::error);
}

// Runs the baseline's stepper over the known tokens of f and checks every step's logits (both halves)
// against the teacher-forced forward of each half.
template <class B, class Model>
void check_baseline_steps(B& be, Model& model, const data::token_file& f) {
  const auto full_cond = (model.forward(be, grid_of(f, false, 3)), model.logits(be));
  const auto full_null = (model.forward(be, grid_of(f, true, 3)), model.logits(be));
  dpar::baseline_stepper<B> stepper(model, labels_of(f), dpar::guidance::classifier_free);
  const auto rows = rows_of(f);
  for (std::int64_t t = 0; t < 12; ++t) {
    const auto lg = stepper.step(be, t, rows);
    check_rows(lg.cond, full_cond, t, 12, 0);
    check_rows(lg.uncond, full_null, t, 12, 0);
  }
}

TEST_CASE("train/sample consistency: LlamaGen's KV-cached step logits equal teacher-forced logits") {
  xtensor_backend be;
  llama model(test::tiny_llamagen_config(true), 5);
  check_baseline_steps(be, model, test::tiny_token_file(3, 8));
}

// Runs a stepper over the known tokens of f and checks every step's logits (both halves) against a
// teacher-forced DPAR forward with the lengths the patcher gives the whole images.
template <class B, class Model, class Stepper>
void check_dpar_steps(B& be, Model& model, Stepper& stepper, const data::token_file& f,
                      const std::vector<std::vector<std::int32_t>>& lengths) {
  const auto full_cond = (model.forward(be, dpar::make_dpar_batch(grid_of(f, false, 3), lengths)), model.logits(be));
  const auto full_null = (model.forward(be, dpar::make_dpar_batch(grid_of(f, true, 3), lengths)), model.logits(be));
  const auto rows = rows_of(f);
  for (std::int64_t t = 0; t < 12; ++t) {
    const auto lg = stepper.step(be, t, rows);
    check_rows(lg.cond, full_cond, t, 12, 0);
    check_rows(lg.uncond, full_null, t, 12, 0);
  }
  CHECK(stepper.lengths() == lengths);
}

TEST_CASE("train/sample consistency: DPAR's KV-cached step logits equal teacher-forced logits") {
  xtensor_backend be;
  llama ent(test::tiny_llamagen_config(false), 6);
  const auto f = test::tiny_token_file(3, 9);
  const auto h = entropy_rows(be, ent, f);
  dpar::patcher_config pc;
  pc.row_width = 4;
  pc.threshold = median_entropy(h);
  std::vector<std::vector<std::int32_t>> lengths;
  bool merged = false;
  for (const auto& row : h) {
    lengths.push_back(dpar::patch_lengths(pc, row, 12));
    merged = merged || lengths.back().size() < 12;
  }
  REQUIRE(merged);  // the test needs patches longer than one token

  SUBCASE("entropy + row boundary patches, dynamic 4-d RoPE, cached entropies equal teacher-forced ones") {
    dpar_m model(test::tiny_dpar_config(), 7);
    dpar::dpar_stepper<xtensor_backend> stepper(model, &ent, pc, labels_of(f), dpar::guidance::classifier_free);
    check_dpar_steps(be, model, stepper, f, lengths);
    for (std::size_t i = 0; i < h.size(); ++i)
      for (std::size_t t = 1; t < 12; ++t) CHECK(stepper.entropies()[i][t] == doctest::Approx(h[i][t]).epsilon(1e-4));
  }
  SUBCASE("two encoder and two decoder layers, every global position layout") {
    for (const auto layout : {dpar::global_position::slot_1d, dpar::global_position::dynamic_3d, dpar::global_position::dynamic_4d}) {
      auto c = test::tiny_dpar_config();
      c.encoder_layers = 2;
      c.decoder_layers = 2;
      c.positions = layout;
      dpar_m model(c, 8);
      dpar::dpar_stepper<xtensor_backend> stepper(model, &ent, pc, labels_of(f), dpar::guidance::classifier_free);
      check_dpar_steps(be, model, stepper, f, lengths);
    }
  }
  SUBCASE("static patches (token 1 continues patch 0), token patches, entropy without row reset, P_max 2") {
    dpar_m model(test::tiny_dpar_config(), 9);
    auto static_pc = pc;
    static_pc.mode = dpar::patching_mode::static_length;
    static_pc.static_length = 2.5;
    auto token_pc = pc;
    token_pc.mode = dpar::patching_mode::token;
    auto capped_pc = pc;
    capped_pc.mode = dpar::patching_mode::entropy;
    capped_pc.threshold = 1e9;  // every run merges up to the cap
    capped_pc.max_patch_length = 2;
    for (const auto& config : {static_pc, token_pc, capped_pc}) {
      std::vector<std::vector<std::int32_t>> config_lengths;
      for (const auto& row : h) config_lengths.push_back(dpar::patch_lengths(config, row, 12));
      dpar::dpar_stepper<xtensor_backend> stepper(model, &ent, config, labels_of(f), dpar::guidance::classifier_free);
      check_dpar_steps(be, model, stepper, f, config_lengths);
    }
  }
  SUBCASE("the eigen backend: cached steps equal its own teacher-forced logits") {
    eigen_backend fast;
    dpar::llamagen_model<eigen_backend, float> fast_ent(test::tiny_llamagen_config(false), 6);
    auto c = test::tiny_dpar_config();
    c.encoder_layers = 2;
    dpar::dpar_model<eigen_backend, float> fast_model(c, 7);
    dpar::dpar_stepper<eigen_backend> stepper(fast_model, &fast_ent, pc, labels_of(f), dpar::guidance::classifier_free);
    check_dpar_steps(fast, fast_model, stepper, f, lengths);
  }
  SUBCASE("the re-forward anchor gives the same logits") {
    dpar_m model(test::tiny_dpar_config(), 7);
    dpar::dpar_reforward_stepper<xtensor_backend> stepper(model, &ent, pc, labels_of(f), dpar::guidance::classifier_free);
    check_dpar_steps(be, model, stepper, f, lengths);
  }
}

// Ten images (20 sequences with guidance) at head_dim 64: the sizes where the eigen backend decodes through
// transposed weight copies (9 rows and up: every block, the heads, the decoder's copy and the patch
// cross-attention when enough patches complete) and its vectorised one-query attention.
TEST_CASE("train/sample consistency on the eigen backend at its decode shapes: 9+ rows, head_dim 64") {
  using fast_llama = dpar::llamagen_model<eigen_backend, float>;
  eigen_backend be;
  const auto f = test::tiny_token_file(10, 21);
  const nn::block_config wide{.dim = 128, .heads = 2, .ffn_hidden = 80, .norm_eps = 1e-5f};
  SUBCASE("LlamaGen baseline") {
    auto c = test::tiny_llamagen_config(true);
    c.vocab = 40;  // a head of 32 + 8 columns
    c.block = wide;
    fast_llama model(c, 5);
    check_baseline_steps(be, model, f);
  }
  SUBCASE("DPAR with its entropy model") {
    auto ec = test::tiny_llamagen_config(false);
    ec.block = wide;
    fast_llama ent(ec, 6);
    const auto h = entropy_rows(be, ent, f);
    dpar::patcher_config pc;
    pc.row_width = 4;
    pc.threshold = median_entropy(h);
    std::vector<std::vector<std::int32_t>> lengths;
    for (const auto& row : h) lengths.push_back(dpar::patch_lengths(pc, row, 12));
    auto c = test::tiny_dpar_config();
    c.block = wide;
    dpar::dpar_model<eigen_backend, float> model(c, 7);
    dpar::dpar_stepper<eigen_backend> stepper(model, &ent, pc, labels_of(f), dpar::guidance::classifier_free);
    check_dpar_steps(be, model, stepper, f, lengths);
    for (std::size_t i = 0; i < h.size(); ++i)
      for (std::size_t t = 1; t < 12; ++t) CHECK(stepper.entropies()[i][t] == doctest::Approx(h[i][t]).epsilon(1e-4));
  }
}

TEST_CASE("DPAR's incremental decoder refuses patch lengths that rewrite a complete patch") {
  xtensor_backend be;
  dpar_m model(test::tiny_dpar_config(), 7);
  dpar::dpar_incremental_decoder<xtensor_backend, float> decoder(model, {0}, dpar::guidance::none);
  decoder.step(be, {}, {{1}});
  decoder.step(be, {3}, {{1, 1}});
  decoder.step(be, {4}, {{1, 2}});
  CHECK_THROWS_WITH_AS(decoder.step(be, {5}, {{2, 2}}), doctest::Contains("prefix-stable"), patchzoo::error);
  CHECK_THROWS_WITH_AS(decoder.step(be, {5}, {{1, 2}}), doctest::Contains("must sum to 4"), patchzoo::error);
  CHECK_THROWS_WITH_AS(decoder.step(be, {}, {{1, 2, 1}}), doctest::Contains("expected 1 previous tokens"), patchzoo::error);
}

TEST_CASE("sampler: cfg scale 1 equals conditional sampling; same seed, same samples") {
  xtensor_backend be;
  llama model(test::tiny_llamagen_config(true), 5);
  const std::vector<std::int32_t> labels{0, 1, 2, 1};
  const auto run = [&](double scale, std::uint64_t seed) {
    dpar::sampling_config sc{.cfg_scale = scale, .temperature = 1.0, .top_k = 0, .top_p = 1.0, .seed = seed};
    dpar::baseline_stepper<xtensor_backend> stepper(model, labels, dpar::guidance_of(sc));
    return dpar::sample_tokens(be, stepper, 4, 10, sc);
  };
  const auto conditional = run(1.0, 3);
  CHECK(run(1.0 + 1e-9, 3) == conditional);  // guided path (null half run) at a scale of 1
  CHECK(run(1.0, 3) == conditional);
  CHECK(run(1.0, 4) != conditional);
  CHECK(run(4.0, 3) != conditional);
  for (const auto& row : conditional) {
    CHECK(row.size() == 12);
    for (const auto t : row) CHECK((t >= 0 && t < 10));
  }

  // Drawing only from the first 6 classes (a tokenizer codebook smaller than the model's vocabulary).
  dpar::sampling_config sc{.cfg_scale = 2.0, .temperature = 1.0, .top_k = 0, .top_p = 1.0, .seed = 1};
  dpar::baseline_stepper<xtensor_backend> stepper(model, labels, dpar::guidance::classifier_free);
  for (const auto& row : dpar::sample_tokens(be, stepper, 4, 6, sc))
    for (const auto t : row) CHECK(t < 6);
}

TEST_CASE("sampler: decoding the images in groups draws the samples of all at once") {
  xtensor_backend be;
  const std::vector<std::int32_t> labels{0, 1, 2, 1, 0, 2, 1};
  const dpar::sampling_config sc{.cfg_scale = 2.0, .temperature = 1.0, .top_k = 0, .top_p = 1.0, .seed = 9};
  const auto g = dpar::guidance::classifier_free;
  SUBCASE("baseline, groups of 7, 3 (as 2 + 2 + 3) and 1; progress runs to the last position") {
    llama model(test::tiny_llamagen_config(true), 5);
    const auto stepper_of = [&](const std::vector<std::int32_t>& group) { return dpar::baseline_stepper<xtensor_backend>(model, group, g); };
    std::vector<std::int64_t> progress;
    const auto all = dpar::sample_in_groups(be, labels, 7, 10, sc, stepper_of);
    CHECK(all.size() == labels.size());
    CHECK(dpar::sample_in_groups(be, labels, 3, 10, sc, stepper_of, [&](std::int64_t t) { progress.push_back(t); }) == all);
    CHECK(dpar::sample_in_groups(be, labels, 1, 10, sc, stepper_of) == all);
    CHECK(dpar::sample_baseline_tokens(be, model, labels, 10, sc) == all);  // xtensor: one group
    CHECK(progress.size() == 3 * 12);
    CHECK(std::is_sorted(progress.begin(), progress.end()));
    CHECK(progress.back() == 12);
    CHECK_THROWS_WITH_AS(dpar::sample_in_groups(be, labels, 0, 10, sc, stepper_of), doctest::Contains("per group must be >= 1"),
                         patchzoo::error);
  }
  SUBCASE("DPAR with entropy patches: the same tokens and patch lengths") {
    llama ent(test::tiny_llamagen_config(false), 6);
    dpar_m model(test::tiny_dpar_config(), 7);
    dpar::patcher_config pc;
    pc.row_width = 4;
    pc.threshold = median_entropy(entropy_rows(be, ent, test::tiny_token_file(7, 21)));
    std::vector<std::vector<std::int32_t>> lengths(labels.size());
    const auto stepper_of = [&](const std::vector<std::int32_t>& group) {
      return dpar::dpar_stepper<xtensor_backend>(model, &ent, pc, group, g);
    };
    const auto keep_lengths = [&](const dpar::dpar_stepper<xtensor_backend>& stepper, std::int64_t first) {
      for (std::size_t i = 0; i < stepper.lengths().size(); ++i) lengths[static_cast<std::size_t>(first) + i] = stepper.lengths()[i];
    };
    std::vector<std::vector<std::int32_t>> all_lengths;
    const auto all = dpar::sample_dpar_tokens(be, model, &ent, pc, labels, 10, sc, {}, &all_lengths);
    CHECK(dpar::sample_in_groups(be, labels, 2, 10, sc, stepper_of, {}, keep_lengths) == all);
    CHECK(lengths == all_lengths);
    std::set<std::size_t> patch_counts;
    for (const auto& l : all_lengths) patch_counts.insert(l.size());
    CHECK(patch_counts.size() > 1);  // the threshold makes images patch differently
  }
}

TEST_CASE("images_per_group: groups fit the backend's decode cache budget, all images on other backends") {
  const std::size_t budget = eigen_backend::decode_cache_budget_bytes();
  CHECK(budget > 0);
  CHECK(dpar::images_per_group<xtensor_backend>(20, {.weight_bytes = 0, .cache_bytes_per_image = budget}) == 20);
  CHECK(dpar::images_per_group<eigen_backend>(20, {.weight_bytes = 1000, .cache_bytes_per_image = budget / 3}) == 3);
  CHECK(dpar::images_per_group<eigen_backend>(2, {.weight_bytes = 1000, .cache_bytes_per_image = budget / 3}) == 2);
  CHECK(dpar::images_per_group<eigen_backend>(20, {.weight_bytes = 1000, .cache_bytes_per_image = 2 * budget}) == 1);
  // Small caches: no more images than bring the thinnest projection to the backend's full-rate rows.
  constexpr std::int64_t full = eigen_backend::decode_full_rate_rows;
  CHECK(dpar::images_per_group<eigen_backend>(20, {.weight_bytes = 1000, .cache_bytes_per_image = 1}) == full);
  CHECK(dpar::images_per_group<eigen_backend>(20, {.weight_bytes = 1000, .cache_bytes_per_image = 1, .rows_per_image = 2}) ==
        full / 2);
  CHECK(dpar::images_per_group<eigen_backend>(20, {.weight_bytes = 1000, .cache_bytes_per_image = 1, .rows_per_image = 3}) ==
        (full + 2) / 3);
  CHECK(dpar::images_per_group<eigen_backend>(2, {.weight_bytes = 1000, .cache_bytes_per_image = 1}) == 2);
  CHECK_THROWS_WITH(dpar::images_per_group<eigen_backend>(20, {.weight_bytes = 1000, .cache_bytes_per_image = 1, .rows_per_image = 0}),
                    doctest::Contains("rows per image"));
  // Weights that stream from memory are read once per step for all images, never once per group.
  CHECK(dpar::images_per_group<eigen_backend>(20, {.weight_bytes = budget + 1, .cache_bytes_per_image = budget / 3}) == 20);
  // The baseline's footprint: both CFG halves are rows of every projection.
  dpar::llamagen_model<eigen_backend, float> model(test::tiny_llamagen_config(true), 1);
  CHECK(dpar::baseline_stepper<eigen_backend>::footprint(model, dpar::guidance::classifier_free).rows_per_image == 2);
  CHECK(dpar::baseline_stepper<eigen_backend>::footprint(model, dpar::guidance::none).rows_per_image == 1);
}

TEST_CASE("pipeline: tiny token file -> entropy model -> entropies -> threshold -> DPAR -> samples") {
  xtensor_backend be;
  const temp_dir scratch("dpar_pipeline");
  const fs::path& dir = scratch.path;
  const auto data = test::tiny_token_file(16, 21);
  dpar::train_config tc;
  tc.steps = 20;
  tc.batch = 8;
  tc.lr = 3e-3;
  tc.out_dir = dir / "entropy";
  {
    llama ent(test::tiny_llamagen_config(false), 1);
    dpar::trainer<xtensor_backend, llama> t(ent, data, tc);
    t.run(be);
    CHECK(t.history().back().loss < t.history().front().loss);
  }
  const auto ent = dpar::load_llamagen(be, dpar::trainer_checkpoint_path(dir / "entropy"));
  const auto h = ent->next_token_entropies(be, grid_of(data, false, 0));
  dpar::entropy_file ef{3, 4, std::vector<float>(h.data(), h.data() + h.numel())};
  dpar::write_entropy_file(dir / "train.entropy", ef);
  const auto back = dpar::read_entropy_file(dir / "train.entropy");
  dpar::patcher_config pc;
  pc.row_width = 4;
  pc.threshold = dpar::find_threshold(pc, back.values, 12, 1.8);
  const double mean_len = dpar::mean_patch_length(pc, back.values, 12);
  CHECK(mean_len > 1.2);
  CHECK(mean_len < 2.5);

  tc.out_dir = dir / "dpar";
  {
    dpar_m model(test::tiny_dpar_config(), 2);
    dpar::trainer<xtensor_backend, dpar_m> t(model, data, tc, &back, pc);
    t.run(be);
    CHECK(t.history().back().loss < t.history().front().loss);
  }
  dpar::patcher_config loaded_pc;
  const auto model = dpar::load_dpar(be, dpar::trainer_checkpoint_path(dir / "dpar"), loaded_pc);
  CHECK(loaded_pc.threshold == pc.threshold);
  dpar::sampling_config sc{.cfg_scale = 2.0, .temperature = 1.0, .top_k = 0, .top_p = 1.0, .seed = 5};
  dpar::dpar_stepper<xtensor_backend> stepper(*model, ent.get(), loaded_pc, {0, 2}, dpar::guidance::classifier_free);
  std::int64_t steps = 0;
  const auto samples = dpar::sample_tokens(be, stepper, 2, 10, sc, [&](std::int64_t s) { steps = s; });
  CHECK(steps == 12);
  REQUIRE(samples.size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    CHECK(samples[i].size() == 12);
    const auto& len = stepper.lengths()[i];
    CHECK(std::accumulate(len.begin(), len.end(), 0) == 12);
    CHECK(*std::max_element(len.begin(), len.end()) <= 4);
    // The sampled image's patches are the patcher's on the entropy model's view of the sample.
    const auto hs = ent->next_token_entropies(
        be, dpar::token_grid_batch{12, 4, std::vector<std::int32_t>(samples[i].begin(), samples[i].end()), {}});
    CHECK(dpar::patch_lengths(loaded_pc, std::span<const float>(hs.data(), 12), 12) == len);
  }
}

TEST_CASE("batch_token_sampler draws every image as the one-row filters do, with guidance and every filter") {
  const std::int64_t images = 3, stride = 7, vocab = 5;  // rows longer than the vocab: the tail is never drawn
  std::vector<float> cond(images * stride), uncond(images * stride);
  for (std::size_t i = 0; i < cond.size(); ++i) {
    cond[i] = static_cast<float>(std::sin(0.7 * static_cast<double>(i)) * 3);
    uncond[i] = static_cast<float>(std::cos(1.3 * static_cast<double>(i)));
  }
  for (const auto& [k, p] : std::vector<std::pair<std::int64_t, double>>{{0, 1.0}, {2, 1.0}, {0, 0.6}, {3, 0.8}}) {
    dpar::sampling_config sc;
    sc.cfg_scale = 1.5;
    sc.temperature = 0.8;
    sc.top_k = k;
    sc.top_p = p;
    sc.seed = 11;
    dpar::batch_token_sampler sampler(sc, vocab);
    std::vector<std::int32_t> drawn;
    for (std::int64_t step = 0; step < 6; ++step) {
      sampler.draw(cond.data(), uncond.data(), stride, images, step, drawn);
      REQUIRE(drawn.size() == static_cast<std::size_t>(images));
      for (std::int64_t i = 0; i < images; ++i) {
        const auto probs = dpar::sampling_probabilities(
            dpar::guided_logits(cond.data() + i * stride, uncond.data() + i * stride, vocab, sc.cfg_scale), sc);
        CHECK(drawn[static_cast<std::size_t>(i)] == dpar::draw_token(probs, dpar::draw_uniform(sc.seed, i, step)));
        CHECK(drawn[static_cast<std::size_t>(i)] < vocab);
      }
    }
  }
  dpar::sampling_config sc;
  dpar::batch_token_sampler sampler(sc, vocab);
  std::vector<std::int32_t> drawn;
  CHECK_THROWS_WITH_AS(sampler.draw(cond.data(), nullptr, vocab - 1, images, 0, drawn), doctest::Contains("shorter than the vocab"),
                       patchzoo::error);
}
