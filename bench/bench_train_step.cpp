// One full training step (forward + backward + AdamW) of the reference model: d=256, 4 layers,
// 4 heads, sequence 256, batch 8, vocabulary 1024. bench/anchors/torch_step.py is the same model in
// PyTorch; bench/anchors/compare_step.sh runs both and prints the ratio.
#include <benchmark/benchmark.h>

#include "bench_support.hpp"
#include "patchzoo/backend/eigen/eigen_backend.hpp"
#include "patchzoo/data/markov_tokens.hpp"
#include "patchzoo/dpar/flops.hpp"
#include "patchzoo/nn/transformer.hpp"
#include "patchzoo/train/adamw.hpp"

namespace {

using namespace patchzoo;

nn::transformer_config reference_model() {
  nn::transformer_config c;
  c.vocab = 1024;
  c.layers = 4;
  c.max_seq = 256;
  c.block = {.dim = 256, .heads = 4, .ffn_hidden = 768, .norm_eps = 1e-5f};
  return c;
}

template <class B>
void train_step(benchmark::State& state) {
  B be;
  nn::transformer<B, float> model(reference_model(), 1);
  training::adamw_optimizer<B, float> opt(model.layout(),
                                          {.beta1 = 0.9, .beta2 = 0.95, .eps = 1e-8, .weight_decay = 0.05});
  const data::markov_tokens source(1024, 4, 2);
  rng_stream r(3);
  const auto batch = source.batch(8, 256, r);
  for (auto _ : state) {
    model.grads().zero();
    benchmark::DoNotOptimize(model.forward(be, batch));
    model.backward(be);
    training::clip_grad_norm(be, model.grads(), 1.0);
    opt.step(be, model.params(), model.grads(), 3e-4);
  }
  state.counters["tokens/s"] = benchmark::Counter(8.0 * 256.0, benchmark::Counter::kIsIterationInvariantRate);
  // Full FLOP count (linear layers and causal attention, training = 3 x forward) of the 8 sequences,
  // against the GEMM rate of the feed-forward projection over all 2048 tokens.
  const auto c = reference_model();
  const dpar::ar_shape shape{c.block.dim, c.block.heads, c.block.ffn_hidden, c.vocab, 0, c.max_seq};
  const double flops = 8.0 * dpar::llamagen_full_flops(shape, static_cast<int>(c.layers)).training;
  bench::add_roofline_counters<B>(state, flops, 8 * c.max_seq, c.block.ffn_hidden, c.block.dim);
}

void BM_train_step_eigen(benchmark::State& state) { train_step<eigen_backend>(state); }
BENCHMARK(BM_train_step_eigen)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);

}  // namespace

int main(int argc, char** argv) { return patchzoo::bench::run_benchmarks(argc, argv); }
