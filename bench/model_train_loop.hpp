#pragma once
// The timed training step of the DPAR / LlamaGen benchmarks: zero the gradients, forward with dropout noise
// of a fresh step, backward, clip the global norm at 1, AdamW (betas 0.9 / 0.95, weight decay 0.05).
#include <benchmark/benchmark.h>

#include <cstdint>

#include "patchzoo/dpar/trainer.hpp"
#include "patchzoo/train/adamw.hpp"

namespace patchzoo::bench {

template <class B, class Model, class Batch>
void train_loop(benchmark::State& state, Model& model, const Batch& batch, double lr) {
  B be;
  training::adamw_optimizer<B, float> opt(model.layout(), {.beta1 = 0.9, .beta2 = 0.95, .eps = 1e-8, .weight_decay = 0.05});
  std::uint64_t step = 0;
  for (auto _ : state) {
    model.grads().zero();
    benchmark::DoNotOptimize(model.forward(be, batch, dpar::step_noise{true, ++step}));
    model.backward(be);
    training::clip_grad_norm(be, model.grads(), 1.0);
    opt.step(be, model.params(), model.grads(), lr);
  }
}

}  // namespace patchzoo::bench
