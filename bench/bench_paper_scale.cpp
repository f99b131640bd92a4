// The paper's sizes on the CPU (random weights: only speed is measured):
//  * a training step (forward + backward + AdamW, batch 2) of LlamaGen GPT-B (vocab 16384, d 768, 12 heads,
//    12 layers, 1000 classes) and of DPAR-B (encoder 1 / global 8 / decoder 3) at 16 x 16 tokens (static
//    patches of mean 1.81) and at 24 x 24 (mean 2.06), each with the FLOPs dpar/flops.hpp predicts and its
//    share of the GEMM rate measured in the same process;
//  * KV-cached class-conditional sampling (CFG 4, as LlamaGen's sample_c2i) of GPT-B, and of DPAR-B with an
//    entropy model of GPT-B's size (the paper's) and a small one, at 16 x 16 and 24 x 24: images/s;
//  * VQ-16 (LlamaGen's tokenizer, 256 px <-> 16 x 16 codes) decoding and encoding one image.
// bench/anchors/compare_llamagen.sh runs the GPT-B sampling and VQ-16 cases against PyTorch.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "bench_support.hpp"
#include "model_train_loop.hpp"
#include "patchzoo/backend/eigen/eigen_backend.hpp"
#include "patchzoo/data/markov_tokens.hpp"
#include "patchzoo/dpar/sampler.hpp"
#include "patchzoo/dpar/trainer.hpp"
#include "patchzoo/vq/vq16_model.hpp"

namespace {

using namespace patchzoo;
using be_t = eigen_backend;

constexpr std::int64_t kBatch = 2;

double mean_patch_length(std::int64_t grid) { return grid == 16 ? 1.81 : 2.06; }  // the paper's two reductions

dpar::llamagen_config gpt_b(std::int64_t grid) {
  dpar::llamagen_config c;  // the defaults are GPT-B at 256 px
  c.tokens = grid * grid;
  c.row_width = grid;
  c.zero_head = false;  // varied logits, so sampling draws varied tokens
  return c;
}

dpar::llamagen_config entropy_model(std::int64_t grid, std::int64_t dim, std::int64_t layers) {
  auto c = gpt_b(grid);
  c.conditional = false;
  c.layers = layers;
  c.block = {.dim = dim, .heads = dim / 64, .ffn_hidden = dpar::round_up_256_ffn(dim), .norm_eps = 1e-5f};
  return c;
}

dpar::dpar_config dpar_b(std::int64_t grid) {
  dpar::dpar_config c;  // the defaults are DPAR-B at 256 px
  c.tokens = grid * grid;
  c.row_width = grid;
  c.zero_head = false;
  return c;
}

dpar::patcher_config static_patches(std::int64_t grid) {
  dpar::patcher_config pc;
  pc.mode = dpar::patching_mode::static_length;
  pc.static_length = mean_patch_length(grid);
  pc.row_width = grid;
  return pc;
}

std::vector<std::vector<std::int32_t>> static_lengths(std::int64_t grid, std::int64_t images) {
  const std::vector<float> no_entropy(static_cast<std::size_t>(grid * grid), 0.0f);
  return std::vector<std::vector<std::int32_t>>(static_cast<std::size_t>(images),
                                                dpar::patch_lengths(static_patches(grid), no_entropy, grid * grid));
}

dpar::token_grid_batch training_batch(std::int64_t grid) {
  const data::markov_tokens source(16384, 4, 2);
  rng_stream r(3);
  const auto tokens = source.batch(kBatch, grid * grid, r).inputs;
  dpar::token_grid_batch g{grid * grid, grid, {tokens.data(), tokens.data() + tokens.numel()}, {}};
  for (std::int64_t i = 0; i < kBatch; ++i) g.labels.push_back(static_cast<std::int32_t>(i * 389 % 1000));
  return g;
}

void add_step_counters(benchmark::State& state, double flops, std::int64_t grid) {
  state.counters["GFLOP/step (flops.hpp)"] = flops / 1e9;
  const auto& b = gpt_b(grid).block;
  bench::add_roofline_counters<be_t>(state, flops, kBatch * grid * grid, b.ffn_hidden, b.dim);
}

void BM_train_step_gpt_b(benchmark::State& state) {
  const std::int64_t grid = state.range(0);
  dpar::llamagen_model<be_t, float> model(gpt_b(grid), 1);
  bench::train_loop<be_t>(state, model, training_batch(grid), 1e-4);
  add_step_counters(state, kBatch * dpar::llamagen_training_flops(gpt_b(grid)), grid);
}
BENCHMARK(BM_train_step_gpt_b)->ArgName("grid")->Arg(16)->Arg(24)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

void BM_train_step_dpar_b(benchmark::State& state) {
  const std::int64_t grid = state.range(0);
  dpar::dpar_model<be_t, float> model(dpar_b(grid), 1);
  const auto lengths = static_lengths(grid, kBatch);
  bench::train_loop<be_t>(state, model, dpar::make_dpar_batch(training_batch(grid), lengths), 1e-4);
  const auto patches = static_cast<std::int64_t>(lengths[0].size());
  state.counters["patches/image"] = static_cast<double>(patches);
  add_step_counters(state, kBatch * dpar::dpar_training_flops(dpar_b(grid), patches), grid);
}
BENCHMARK(BM_train_step_dpar_b)->ArgName("grid")->Arg(16)->Arg(24)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

// LlamaGen's sample_c2i defaults for its demo: CFG 4, temperature 1, no top-k / top-p.
const dpar::sampling_config kSampleC2i{.cfg_scale = 4.0, .temperature = 1.0, .top_k = 0, .top_p = 1.0, .seed = 1};

std::vector<std::int32_t> class_labels(std::int64_t images) {
  std::vector<std::int32_t> labels;
  for (std::int64_t i = 0; i < images; ++i) labels.push_back(static_cast<std::int32_t>((207 + 153 * i) % 1000));
  return labels;
}

void add_sampling_counters(benchmark::State& state, std::int64_t images, double flops_per_image) {
  state.counters["images/s"] = benchmark::Counter(static_cast<double>(images), benchmark::Counter::kIsIterationInvariantRate);
  const auto& b = gpt_b(16).block;
  bench::add_roofline_counters<be_t>(state, static_cast<double>(images) * flops_per_image, 2 * images, b.ffn_hidden, b.dim);
}

void BM_sample_gpt_b(benchmark::State& state) {
  be_t be;
  const std::int64_t images = state.range(0), grid = state.range(1);
  dpar::llamagen_model<be_t, float> model(gpt_b(grid), 1);
  for (auto _ : state) {
    dpar::baseline_stepper<be_t> stepper(model, class_labels(images), dpar::guidance::classifier_free);
    benchmark::DoNotOptimize(dpar::sample_tokens(be, stepper, images, 16384, kSampleC2i));
  }
  add_sampling_counters(state, images, 2.0 * dpar::llamagen_flops(gpt_b(grid)).forward);
}
BENCHMARK(BM_sample_gpt_b)
    ->ArgNames({"images", "grid"})
    ->Args({1, 16})
    ->Args({4, 16})
    ->Args({4, 24})
    ->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

// DPAR-B on a grid x grid map (state.range(1)) with an entropy model of state.range(2) width and
// state.range(3) layers (768 / 12: GPT-B's size, the paper's).
void BM_sample_dpar_b(benchmark::State& state) {
  be_t be;
  const std::int64_t images = state.range(0), grid = state.range(1);
  dpar::dpar_model<be_t, float> model(dpar_b(grid), 1);
  const auto ec = entropy_model(grid, state.range(2), state.range(3));
  dpar::llamagen_model<be_t, float> entropy(ec, 2);
  for (auto _ : state) {
    dpar::dpar_stepper<be_t> stepper(model, &entropy, static_patches(grid), class_labels(images), dpar::guidance::classifier_free);
    benchmark::DoNotOptimize(dpar::sample_tokens(be, stepper, images, 16384, kSampleC2i));
  }
  const auto patches = static_cast<std::int64_t>(static_lengths(grid, 1)[0].size());
  state.counters["patches/image"] = static_cast<double>(patches);
  add_sampling_counters(state, images, 2.0 * dpar::dpar_flops(dpar_b(grid), patches).forward + dpar::llamagen_flops(ec).forward);
}
BENCHMARK(BM_sample_dpar_b)
    ->ArgNames({"images", "grid", "entropy_dim", "entropy_layers"})
    ->Args({4, 16, 768, 12})
    ->Args({4, 16, 256, 4})
    ->Args({4, 24, 256, 4})
    ->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

// VQ-16 with weights of unit-scale activations: conv weights uniform with variance 1 / fan_in, norm
// weights 1, biases 0, codebook uniform.
std::unique_ptr<vq::vq16_model<be_t, float>> random_vq16() {
  auto model = std::make_unique<vq::vq16_model<be_t, float>>(vq::vq16_config{});
  const auto& slices = model->layout().slices();
  for (std::size_t k = 0; k < slices.size(); ++k) {
    auto v = model->params()[k];
    const auto& s = slices[k];
    const double fan_in = s.shape.rank > 1 ? static_cast<double>(v.numel() / s.shape.dims[0]) : 1.0;
    const float bound = static_cast<float>(std::sqrt(3.0 / fan_in));
    const bool norm_weight = s.shape.rank == 1 && s.name.find("norm") != std::string::npos && s.name.ends_with("weight");
    for (std::int64_t i = 0; i < v.numel(); ++i)
      v.data[i] = s.shape.rank == 1 ? (norm_weight ? 1.0f : 0.0f)
                                    : bound * (2.0f * static_cast<float>(uniform01(17 + k, static_cast<std::uint64_t>(i))) - 1.0f);
  }
  return model;
}

void BM_vq16_decode(benchmark::State& state) {
  be_t be;
  auto model = random_vq16();
  tensor<std::int32_t> codes(shape_t{state.range(0), 16, 16});
  for (std::int64_t i = 0; i < codes.numel(); ++i) codes[i] = static_cast<std::int32_t>((i * 7919) % 16384);
  for (auto _ : state) benchmark::DoNotOptimize(model->decode(be, codes));
  state.counters["images/s"] = benchmark::Counter(static_cast<double>(state.range(0)), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_vq16_decode)->ArgName("images")->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);

void BM_vq16_encode(benchmark::State& state) {
  be_t be;
  auto model = random_vq16();
  const auto images = bench::random_tensor<float>(shape_t{state.range(0), 3, 256, 256}, 5);
  for (auto _ : state) benchmark::DoNotOptimize(model->encode(be, images));
  state.counters["images/s"] = benchmark::Counter(static_cast<double>(state.range(0)), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_vq16_encode)->ArgName("images")->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);

}  // namespace

int main(int argc, char** argv) { return patchzoo::bench::run_benchmarks(argc, argv); }
