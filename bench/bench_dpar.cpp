// DPAR against its LlamaGen baseline at the same width and total depth (the demo's size: d 128, 2 heads,
// 4 layers = DPAR's encoder 1 / global 2 / decoder 1, 16 x 16 tokens, vocabulary 512, 10 classes):
//  * training step (forward + backward + AdamW, batch 32) of each, with the FLOPs the full count predicts
//    as counters, so the measured saving can be set against the predicted one;
//  * sampling throughput (images/s, CFG on, 20 images) of the KV-cached baseline, the KV-cached DPAR with
//    its entropy model (d 128, 2 layers) included, and the re-forward DPAR sampler of the reference code
//    (2 images: it is that slow);
//  * DPAR sampling with entropy models of other sizes (the cost the entropy model adds);
//  * baseline sampling over images {1, 4, 20, 64} x grid {16, 24} (BM_sample_baseline_sweep), the
//    PyTorch comparison of bench/anchors/compare_sample.sh;
//  * the baseline decoded in cache-sized groups of images against all at once (BM_sample_baseline_grouped_vs_all);
//  * DPAR against the baseline in one loop at 16 x 16 (patches of mean 1.81) and 24 x 24 (mean 2.06)
//    (BM_sample_dpar_vs_baseline).
// Patches: static lengths of mean 1.81 (the paper's 256 px reduction). Entropy patches of the same mean
// cost the same: the global model's cost depends on the patch count only, the local ones on the tokens.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <vector>

#include "bench_support.hpp"
#include "model_train_loop.hpp"
#include "patchzoo/backend/eigen/eigen_backend.hpp"
#include "patchzoo/data/markov_tokens.hpp"
#include "patchzoo/dpar/flops.hpp"
#include "patchzoo/dpar/sampler.hpp"
#include "patchzoo/dpar/trainer.hpp"

namespace {

using namespace patchzoo;
using be_t = eigen_backend;

constexpr std::int64_t kTokens = 256, kRow = 16, kVocab = 512, kClasses = 10, kBatch = 32;
constexpr double kMeanLength = 1.81;

nn::block_config block() { return {.dim = 128, .heads = 2, .ffn_hidden = dpar::round_up_256_ffn(128), .norm_eps = 1e-5f}; }

dpar::llamagen_config baseline_config() {
  dpar::llamagen_config c;
  c.vocab = kVocab;
  c.classes = kClasses;
  c.tokens = kTokens;
  c.row_width = kRow;
  c.layers = 4;
  c.block = block();
  c.zero_head = false;  // trained-like logits, so sampling draws varied tokens
  return c;
}

dpar::llamagen_config entropy_config(std::int64_t dim, std::int64_t layers) {
  auto c = baseline_config();
  c.conditional = false;
  c.layers = layers;
  c.block = {.dim = dim, .heads = 2, .ffn_hidden = dpar::round_up_256_ffn(dim), .norm_eps = 1e-5f};
  return c;
}

dpar::dpar_config dpar_config() {
  dpar::dpar_config c;
  c.vocab = kVocab;
  c.classes = kClasses;
  c.tokens = kTokens;
  c.row_width = kRow;
  c.encoder_layers = 1;
  c.global_layers = 2;
  c.decoder_layers = 1;
  c.block = block();
  c.zero_head = false;
  return c;
}

dpar::patcher_config static_patches() {
  dpar::patcher_config pc;
  pc.mode = dpar::patching_mode::static_length;
  pc.static_length = kMeanLength;
  pc.row_width = kRow;
  return pc;
}

dpar::token_grid_batch training_batch() {
  const data::markov_tokens source(kVocab, 4, 2);
  rng_stream r(3);
  const auto tokens = source.batch(kBatch, kTokens, r).inputs;
  dpar::token_grid_batch g{kTokens, kRow, {}, {}};
  g.tokens.assign(tokens.data(), tokens.data() + tokens.numel());
  for (std::int64_t i = 0; i < kBatch; ++i) g.labels.push_back(static_cast<std::int32_t>(i % kClasses));
  return g;
}

void BM_train_step_baseline(benchmark::State& state) {
  dpar::llamagen_model<be_t, float> model(baseline_config(), 1);
  bench::train_loop<be_t>(state, model, training_batch(), 1e-3);
  const double flops = kBatch * dpar::llamagen_training_flops(baseline_config());
  state.counters["GFLOP/step (full count)"] = flops / 1e9;
  bench::add_roofline_counters<be_t>(state, flops, kBatch * kTokens, block().ffn_hidden, block().dim);
}
BENCHMARK(BM_train_step_baseline)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(5.0);

void BM_train_step_dpar(benchmark::State& state) {
  dpar::dpar_model<be_t, float> model(dpar_config(), 1);
  const std::vector<float> no_entropy(kTokens, 0.0f);
  const std::vector<std::vector<std::int32_t>> lengths(
      kBatch, dpar::patch_lengths(static_patches(), no_entropy, kTokens));
  const auto batch = dpar::make_dpar_batch(training_batch(), lengths);
  bench::train_loop<be_t>(state, model, batch, 1e-3);
  state.counters["patches/image"] = static_cast<double>(lengths[0].size());
  const double flops = kBatch * dpar::dpar_training_flops(dpar_config(), static_cast<std::int64_t>(lengths[0].size()));
  state.counters["GFLOP/step (full count)"] = flops / 1e9;
  bench::add_roofline_counters<be_t>(state, flops, kBatch * kTokens, block().ffn_hidden, block().dim);
}
BENCHMARK(BM_train_step_dpar)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(5.0);

std::vector<std::int32_t> class_labels(std::int64_t images) {
  std::vector<std::int32_t> labels;
  for (std::int64_t i = 0; i < images; ++i) labels.push_back(static_cast<std::int32_t>(i % kClasses));
  return labels;
}

const dpar::sampling_config kGuided{.cfg_scale = 2.0, .temperature = 1.0, .top_k = 0, .top_p = 1.0, .seed = 1};

// Sampling counters: images/s, and the full FLOP count (CFG doubles the sequences: 2 per image) against
// the GEMM rate of one decode step's feed-forward projection over those 2 x images rows.
void add_sampling_counters(benchmark::State& state, std::int64_t images, double flops_per_image) {
  state.counters["images/s"] = benchmark::Counter(static_cast<double>(images), benchmark::Counter::kIsIterationInvariantRate);
  bench::add_roofline_counters<be_t>(state, static_cast<double>(images) * flops_per_image, 2 * images,
                                     block().ffn_hidden, block().dim);
}

// One image of the baseline, both CFG branches.
double baseline_sampling_flops(const dpar::llamagen_config& c) { return 2.0 * dpar::llamagen_flops(c).forward; }

void BM_sample_baseline(benchmark::State& state) {
  be_t be;
  dpar::llamagen_model<be_t, float> model(baseline_config(), 1);
  const std::int64_t images = state.range(0);
  for (auto _ : state) {
    benchmark::DoNotOptimize(dpar::sample_baseline_tokens(be, model, class_labels(images), kVocab, kGuided));
  }
  add_sampling_counters(state, images, baseline_sampling_flops(baseline_config()));
}
BENCHMARK(BM_sample_baseline)->Arg(20)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);

// The baseline on a grid x grid token map (T = grid^2, RoPE rows of width grid), everything else as
// baseline_config(): the sizes bench/anchors/torch_sample.py reproduces in PyTorch.
dpar::llamagen_config baseline_config(std::int64_t grid) {
  auto c = baseline_config();
  c.tokens = grid * grid;
  c.row_width = grid;
  return c;
}

// BM_sample_baseline over images x grid, for bench/anchors/compare_sample.sh. A run longer than MinTime
// counts once, so the slowest case (64 images, 24 x 24) costs one run per repetition.
void BM_sample_baseline_sweep(benchmark::State& state) {
  be_t be;
  const std::int64_t images = state.range(0), grid = state.range(1);
  const auto config = baseline_config(grid);
  dpar::llamagen_model<be_t, float> model(config, 1);
  for (auto _ : state) {
    benchmark::DoNotOptimize(dpar::sample_baseline_tokens(be, model, class_labels(images), config.vocab, kGuided));
  }
  add_sampling_counters(state, images, baseline_sampling_flops(config));
}
BENCHMARK(BM_sample_baseline_sweep)
    ->ArgNames({"images", "grid"})
    ->ArgsProduct({{1, 4, 20, 64}, {16, 24}})
    ->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(1.0);

// The baseline decoded in groups of images_per_group() (their KV caches fit the eigen backend's decode
// cache budget, a third of the last-level cache) against all 20 images at once, timed apart in each
// iteration: grouped_vs_all is the gain.
void BM_sample_baseline_grouped_vs_all(benchmark::State& state) {
  be_t be;
  const std::int64_t images = 20, grid = state.range(0);
  const auto config = baseline_config(grid);
  dpar::llamagen_model<be_t, float> model(config, 1);
  const auto labels = class_labels(images);
  const auto g = dpar::guidance::classifier_free;
  const auto per_group = dpar::images_per_group<be_t>(images, dpar::baseline_stepper<be_t>::footprint(model, g));
  const auto stepper_of = [&](const std::vector<std::int32_t>& group) { return dpar::baseline_stepper<be_t>(model, group, g); };
  double all_seconds = 0, grouped_seconds = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(dpar::sample_in_groups(be, labels, images, config.vocab, kGuided, stepper_of));
    const auto middle = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(dpar::sample_in_groups(be, labels, per_group, config.vocab, kGuided, stepper_of));
    all_seconds += std::chrono::duration<double>(middle - start).count();
    grouped_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - middle).count();
  }
  const double sampled = static_cast<double>(images * state.iterations());
  state.counters["images/group"] = static_cast<double>(per_group);
  state.counters["all images/s"] = sampled / all_seconds;
  state.counters["grouped images/s"] = sampled / grouped_seconds;
  state.counters["grouped_vs_all"] = all_seconds / grouped_seconds;
}
BENCHMARK(BM_sample_baseline_grouped_vs_all)
    ->ArgName("grid")
    ->Arg(16)
    ->Arg(24)
    ->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);

// DPAR with its entropy model (state.range(1) wide, state.range(2) layers); range(3) = 1: re-forward.
void BM_sample_dpar(benchmark::State& state) {
  be_t be;
  dpar::dpar_model<be_t, float> model(dpar_config(), 1);
  dpar::llamagen_model<be_t, float> entropy(entropy_config(state.range(1), state.range(2)), 2);
  const std::int64_t images = state.range(0);
  const bool reforward = state.range(3) == 1;
  for (auto _ : state) {
    if (reforward) {
      dpar::dpar_reforward_stepper<be_t> stepper(model, &entropy, static_patches(), class_labels(images), dpar::guidance::classifier_free);
      benchmark::DoNotOptimize(dpar::sample_tokens(be, stepper, images, kVocab, kGuided));
    } else {
      benchmark::DoNotOptimize(dpar::sample_dpar_tokens(be, model, &entropy, static_patches(), class_labels(images), kVocab, kGuided));
    }
  }
  // DPAR's two CFG branches plus one unconditional entropy pass per image. The re-forward sampler does
  // far more work than this count: its share of the GEMM rate shows what that costs.
  const std::vector<float> no_entropy(kTokens, 0.0f);
  const auto patches = static_cast<std::int64_t>(dpar::patch_lengths(static_patches(), no_entropy, kTokens).size());
  const double flops = 2.0 * dpar::dpar_flops(dpar_config(), patches).forward +
                       dpar::llamagen_flops(entropy_config(state.range(1), state.range(2))).forward;
  add_sampling_counters(state, images, flops);
}
BENCHMARK(BM_sample_dpar)
    ->ArgNames({"images", "entropy_dim", "entropy_layers", "reforward"})
    ->Args({20, 128, 2, 0})
    ->Args({20, 64, 1, 0})
    ->Args({20, 256, 4, 0})
    ->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);
BENCHMARK(BM_sample_dpar)
    ->ArgNames({"images", "entropy_dim", "entropy_layers", "reforward"})
    ->Args({2, 128, 2, 1})
    ->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

// DPAR with the demo's entropy model (d 128, 2 layers) against the baseline at the paper's two reductions:
// 16 x 16 tokens in patches of mean 1.81 and 24 x 24 in patches of mean 2.06, 20 images. Each iteration
// samples with both, timed apart, so the ratio (dpar_vs_baseline) compares the same moments of this VM.
void BM_sample_dpar_vs_baseline(benchmark::State& state) {
  be_t be;
  const std::int64_t images = 20, grid = state.range(0), tokens = grid * grid;
  const auto base_config = baseline_config(grid);
  auto config = dpar_config();
  config.tokens = tokens;
  config.row_width = grid;
  auto ent_config = entropy_config(128, 2);
  ent_config.tokens = tokens;
  ent_config.row_width = grid;
  auto patches = static_patches();
  patches.static_length = grid == 16 ? 1.81 : 2.06;
  patches.row_width = grid;
  dpar::llamagen_model<be_t, float> baseline(base_config, 1);
  dpar::dpar_model<be_t, float> model(config, 1);
  dpar::llamagen_model<be_t, float> entropy(ent_config, 2);
  double baseline_seconds = 0, dpar_seconds = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(dpar::sample_baseline_tokens(be, baseline, class_labels(images), kVocab, kGuided));
    const auto middle = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(dpar::sample_dpar_tokens(be, model, &entropy, patches, class_labels(images), kVocab, kGuided));
    baseline_seconds += std::chrono::duration<double>(middle - start).count();
    dpar_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - middle).count();
  }
  const double sampled = static_cast<double>(images * state.iterations());
  state.counters["baseline images/s"] = sampled / baseline_seconds;
  state.counters["dpar images/s"] = sampled / dpar_seconds;
  state.counters["dpar_vs_baseline"] = baseline_seconds / dpar_seconds;
  const std::vector<float> no_entropy(static_cast<std::size_t>(tokens), 0.0f);
  state.counters["patches/image"] = static_cast<double>(dpar::patch_lengths(patches, no_entropy, tokens).size());
}
BENCHMARK(BM_sample_dpar_vs_baseline)
    ->ArgName("grid")
    ->Arg(16)
    ->Arg(24)
    ->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);

}  // namespace

int main(int argc, char** argv) { return patchzoo::bench::run_benchmarks(argc, argv); }
