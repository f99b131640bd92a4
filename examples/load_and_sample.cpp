// Trains a tiny transformer, saves a training checkpoint, loads its parameters into a fresh model and
// samples from both with a KV cache. Exits 1 unless the loaded model's logits equal the saved one's and
// both draw the same tokens. Usage: example_load_and_sample [work-dir] (default ./load_and_sample_work).
#include <cstdio>
#include <filesystem>
#include <vector>

#include <patchzoo/backend/eigen/eigen_backend.hpp>
#include <patchzoo/data/markov_tokens.hpp>
#include <patchzoo/dpar/sampling_filters.hpp>
#include <patchzoo/nn/transformer.hpp>
#include <patchzoo/train/checkpoint.hpp>

using namespace patchzoo;
using model_t = nn::transformer<eigen_backend, float>;

// 24 tokens after token 0, one KV-cached decode step each, drawn at temperature 0.8 from the top 8.
std::vector<std::int32_t> sample(eigen_backend& be, model_t& model) {
  auto state = model.start_decoding(/*max_tokens=*/24);
  std::vector<std::int32_t> tokens{0};
  rng_stream rng(/*seed=*/7);
  while (tokens.size() < 25) {
    const tensor<float> logits = model.decode(be, state, {tokens.back()});  // [1, vocab] on the host
    std::vector<double> probs(logits.data(), logits.data() + logits.numel());
    probs = dpar::sampling_probabilities(probs, {.cfg_scale = 1, .temperature = 0.8, .top_k = 8});
    tokens.push_back(dpar::draw_token(probs, rng.uniform()));
  }
  return tokens;
}

int main(int argc, char** argv) {
  const std::filesystem::path dir = argc > 1 ? argv[1] : "load_and_sample_work";
  const std::filesystem::path path = dir / "tiny_lm.safetensors";
  std::filesystem::create_directories(dir);
  eigen_backend be;
  const nn::transformer_config config{.vocab = 32, .layers = 2, .max_seq = 32,
                                      .block = {.dim = 32, .heads = 2, .ffn_hidden = 96}};
  const data::markov_tokens source(config.vocab, /*successors=*/2, /*seed=*/2);
  rng_stream data_rng(/*seed=*/3);
  model_t model(config, /*seed=*/1);
  training::adamw_optimizer<eigen_backend, float> opt(model.layout(), {});
  for (int step = 0; step < 40; ++step) {
    model.grads().zero();
    model.forward(be, source.batch(/*sequences=*/8, /*length=*/32, data_rng));
    model.backward(be);
    opt.step(be, model.params(), model.grads(), /*lr=*/3e-3);
  }
  training::save_checkpoint(be, path, model.params(), opt, {{"example", "load_and_sample"}});

  model_t loaded(config, /*seed=*/99);  // other weights until the load
  const auto metadata = training::load_checkpoint_params(be, path, loaded.params());
  const nn::token_batch probe = source.batch(/*sequences=*/2, /*length=*/32, data_rng);
  model.forward(be, probe);
  loaded.forward(be, probe);
  const bool same_logits = model.logits(be).to_vector() == loaded.logits(be).to_vector();
  const bool same_tokens = sample(be, model) == sample(be, loaded);
  std::printf("%s at step %s: logits %s, sampled tokens %s\n", path.c_str(), metadata.at("step").c_str(),
              same_logits ? "equal" : "DIFFER", same_tokens ? "equal" : "DIFFER");
  return same_logits && same_tokens ? 0 : 1;
}
