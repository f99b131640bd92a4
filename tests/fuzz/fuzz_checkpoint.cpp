// Fuzzes training::load_checkpoint (train/checkpoint.hpp) for a fixed small transformer: the file must match
// its layout tensor by tensor, carry the format tag and a step count; anything else is a patchzoo::error.
// The seed is a real checkpoint of that model, so mutations start from a file that loads.
#include <cstdint>

#include "patchzoo/backend/eigen/eigen_backend.hpp"
#include "patchzoo/nn/transformer.hpp"
#include "patchzoo/train/checkpoint.hpp"
#include "fuzz/fuzz_support.hpp"

using namespace patchzoo;

namespace {

// Small enough that a seed stays a few kilobytes (libFuzzer's -max_len follows the largest seed).
nn::transformer_config tiny_config() {
  nn::transformer_config c;
  c.vocab = 5;
  c.layers = 1;
  c.max_seq = 4;
  c.block = {.dim = 4, .heads = 1, .ffn_hidden = 8, .norm_eps = 1e-5f};
  return c;
}

struct model {
  eigen_backend be;
  nn::transformer<eigen_backend, float> net{tiny_config(), 3};
  training::adamw_optimizer<eigen_backend, float> opt{net.layout(), {}};
};

}  // namespace

void fuzz_one(std::span<const std::uint8_t> input) {
  static model m;
  (void)training::load_checkpoint(m.be, scratch_file(".safetensors").write(input), m.net.params(), m.opt);
  (void)training::load_checkpoint_params(m.be, scratch_file(".safetensors").path(), m.net.params());
}

void write_seeds(const seed_writer& out) {
  model m;
  training::save_checkpoint(m.be, out.path("tiny.safetensors"), m.net.params(), m.opt, {{"data_rng_counter", "7"}});
}
