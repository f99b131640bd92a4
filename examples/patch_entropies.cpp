// DPAR's patching on a tiny entropy model: train a transformer briefly on a Markov source, take the
// next-token entropies H_t of 16 sequences of an 8 x 8 grid, cut them into patches and find the threshold
// theta for a mean patch length of 2. Exits 1 unless every split covers its sequence exactly, no patch is
// longer than P_max, every grid row starts a patch, and theta's mean length is within 0.1 of the target.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include <patchzoo/backend/eigen/eigen_backend.hpp>
#include <patchzoo/data/markov_tokens.hpp>
#include <patchzoo/dpar/entropy.hpp>
#include <patchzoo/dpar/patcher.hpp>
#include <patchzoo/nn/transformer.hpp>
#include <patchzoo/train/adamw.hpp>

int main() {
  using namespace patchzoo;
  constexpr std::int64_t T = 64, sequences = 16;  // T tokens of an 8 x 8 grid, in raster order
  eigen_backend be;
  nn::transformer<eigen_backend, float> model(
      {.vocab = 32, .layers = 1, .max_seq = T, .block = {.dim = 32, .heads = 2, .ffn_hidden = 96}}, /*seed=*/1);
  training::adamw_optimizer<eigen_backend, float> opt(model.layout(), {});
  const data::markov_tokens source(32, /*successors=*/3, /*seed=*/2);
  rng_stream data_rng(3);
  for (int step = 0; step < 60; ++step) {
    model.grads().zero();
    model.forward(be, source.batch(8, T, data_rng));
    model.backward(be);
    opt.step(be, model.params(), model.grads(), /*lr=*/3e-3);
  }
  model.forward(be, source.batch(sequences, T, data_rng));
  const tensor<float> logits = model.logits(be);  // [sequences * T, vocab]: row i predicts token i + 1
  std::vector<float> entropy(sequences * T);      // entropy[s * T + t] = H_t of sequence s (H_0 = 0)
  for (std::int64_t s = 0; s < sequences; ++s)
    dpar::entropies_by_predicted_token(logits.cview().slice_rows(s * T, s * T + T - 1), /*first_predicted_token=*/1,
                                       std::span(entropy).subspan(s * T, T));

  dpar::patcher_config cfg{.mode = dpar::patching_mode::entropy_row_boundary, .max_patch_length = 4, .row_width = 8};
  cfg.threshold = dpar::find_threshold(cfg, entropy, T, /*target_mean_length=*/2.0);
  bool valid = true;
  for (std::int64_t s = 0; s < sequences; ++s) {
    const auto lengths = dpar::patch_lengths(cfg, std::span(entropy).subspan(s * T, T), T);
    const auto offsets = dpar::patch_offsets(lengths);  // where each patch starts, and T last
    valid = valid && offsets.back() == T && std::ranges::all_of(lengths, [](int l) { return l >= 1 && l <= 4; });
    for (std::int64_t row = 0; row < T; row += 8) valid = valid && std::ranges::count(offsets, row) == 1;
  }
  const double mean = dpar::mean_patch_length(cfg, entropy, T);
  std::printf("theta %.3f nats: mean patch length %.3f over %lld sequences, splits %s\n", cfg.threshold, mean,
              static_cast<long long>(sequences), valid ? "valid" : "INVALID");
  return valid && std::abs(mean - 2.0) <= 0.1 ? 0 : 1;
}
