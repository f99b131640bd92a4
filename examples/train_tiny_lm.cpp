// Trains a tiny LLaMA-style transformer on a synthetic Markov source. The backend is a template argument
// chosen at compile time: CMake builds this file twice, with -DPATCHZOO_EXAMPLE_XTENSOR and without.
#include <cstdio>

#include <patchzoo/data/markov_tokens.hpp>
#include <patchzoo/nn/transformer.hpp>
#include <patchzoo/train/adamw.hpp>
#include <patchzoo/train/lr_schedule.hpp>
#ifdef PATCHZOO_EXAMPLE_XTENSOR
#include <patchzoo/backend/xtensor/xtensor_backend.hpp>
using backend_t = patchzoo::xtensor_backend;  // the reference: plain loops
#else
#include <patchzoo/backend/eigen/eigen_backend.hpp>
using backend_t = patchzoo::eigen_backend;  // the fast CPU backend
#endif

int main() {
  using namespace patchzoo;
  backend_t be;
  const nn::transformer_config config{.vocab = 64, .layers = 2, .max_seq = 32,
                                      .block = {.dim = 64, .heads = 4, .ffn_hidden = 192}};
  nn::transformer<backend_t, float> model(config, /*seed=*/1);
  training::adamw_optimizer<backend_t, float> opt(model.layout(), {.weight_decay = 0.05});
  const auto schedule = training::lr_schedule::warmup_cosine(/*lr=*/3e-3, /*warmup=*/10, /*total=*/60);
  const data::markov_tokens source(config.vocab, /*successors=*/4, /*seed=*/2);
  rng_stream data_rng(/*seed=*/3);
  double first = 0, last = 0;
  for (int step = 0; step < 60; ++step) {
    const nn::token_batch batch = source.batch(/*sequences=*/8, /*length=*/32, data_rng);
    model.grads().zero();  // backward() accumulates into the gradients
    const double loss = model.forward(be, batch);
    model.backward(be);
    training::clip_grad_norm(be, model.grads(), /*max_norm=*/1.0);
    opt.step(be, model.params(), model.grads(), schedule.at(step));
    (step == 0 ? first : last) = loss;
  }
  const double floor = source.entropy_rate();  // the lowest loss any model can reach
  std::printf("%s: loss %.3f -> %.3f (floor %.3f)\n", backend_t::name.data(), first, last, floor);
  return last < floor + 0.5 * (first - floor) ? 0 : 1;  // fails unless training covered half the gap
}
