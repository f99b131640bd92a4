#pragma once
// Tiny fixtures of the trainer and sampler tests: a token file of Markov-chain grids (3 x 4 tokens over 10
// codes, 3 classes) and small model configs whose heads are not zero, so logits carry signal at once.
#include <cstdint>

#include "dpar/model_checks.hpp"
#include "patchzoo/dpar/dpar_model.hpp"
#include "patchzoo/dpar/entropy_file.hpp"
#include "patchzoo/dpar/patcher.hpp"
#include "patchzoo/dpar/llamagen_model.hpp"
#include "patchzoo/data/token_file.hpp"

namespace patchzoo::test {

inline data::token_file tiny_token_file(std::int64_t images, std::uint64_t seed) {
  static const data::markov_tokens source(10, 2, 5);
  rng_stream r(seed);
  const auto g = markov_grid(source, images, 12, 4, 3, r);
  data::token_file f;
  f.grid_h = 3;
  f.grid_w = 4;
  f.codebook_size = 10;
  for (const auto t : g.tokens) f.tokens.push_back(static_cast<std::uint16_t>(t));
  for (const auto l : g.labels) f.labels.push_back(static_cast<std::uint16_t>(l));
  return f;
}

inline dpar::llamagen_config tiny_llamagen_config(bool conditional) {
  dpar::llamagen_config c;
  c.vocab = 10;
  c.classes = 3;
  c.tokens = 12;
  c.row_width = 4;
  c.layers = 2;
  c.conditional = conditional;
  c.block = {.dim = 16, .heads = 2, .ffn_hidden = 24, .norm_eps = 1e-5f};
  c.init_std = 0.3;
  c.zero_head = false;
  return c;
}

inline dpar::dpar_config tiny_dpar_config() {
  dpar::dpar_config c;
  c.vocab = 10;
  c.classes = 3;
  c.tokens = 12;
  c.row_width = 4;
  c.encoder_layers = 1;
  c.global_layers = 2;
  c.decoder_layers = 1;
  c.block = {.dim = 32, .heads = 2, .ffn_hidden = 32, .norm_eps = 1e-5f};  // head_dim 16: dynamic RoPE
  c.init_std = 0.3;
  c.zero_head = false;
  return c;
}

// Made-up entropies for a token file: a ramp of (7 i + 3 j) mod 10 quarter-nats, 0 for each first token, so
// that a threshold of 1.2 cuts patches of several lengths (tiny_patcher).
inline dpar::entropy_file ramp_entropies(const data::token_file& t) {
  dpar::entropy_file e{t.grid_h, t.grid_w, {}};
  for (std::int64_t i = 0; i < t.count(); ++i)
    for (std::int64_t j = 0; j < t.tokens_per_image(); ++j)
      e.values.push_back(j == 0 ? 0.0f : static_cast<float>((i * 7 + j * 3) % 10) * 0.25f);
  return e;
}

inline dpar::patcher_config tiny_patcher() {
  dpar::patcher_config pc;
  pc.threshold = 1.2;
  pc.row_width = 4;
  return pc;
}

}  // namespace patchzoo::test
