#pragma once
// Parameter and FLOP counts of LlamaGen and DPAR (arXiv 2512.21867), per image.
//  * *_paper_flops: the convention that reproduces the paper's Table 8 (433.6 vs 258.5 "GFLOPs" for
//    XL-384): forward multiply-accumulates of the Linear layers only -- no attention products, norms,
//    softmax or embedding lookups, one pass. The unit is MACs, which the paper calls FLOPs.
//  * *_full_flops: real FLOPs (2 per multiply-add) of the same linear layers plus causal attention
//    (QK^T and AV over the i + 1 visible keys of query i); training = 3 x forward (backward = 2 x forward).
// DPAR's global part runs on 1 + M slots, M = the mean number of patches; using M for the attention
// term ignores the spread of P (E[P^2] >= M^2), a small underestimate.
#include <cstdint>

#include "patchzoo/core/error.hpp"

namespace patchzoo::dpar {

struct ar_shape {
  std::int64_t dim, heads, ffn_hidden, vocab;
  std::int64_t classes;  // rows of the class table, the CFG null class included (1000 + 1 for ImageNet)
  std::int64_t tokens;   // T: image tokens (W x W)
};

struct dpar_split {
  int encoder = 1, global = 8, decoder = 3;  // DPAR-B; the total equals LlamaGen-B's 12 layers
};

struct flop_count {
  double forward = 0.0;   // FLOPs of one forward pass per image
  double training = 0.0;  // forward + backward = 3 x forward
};

// LlamaGen's SwiGLU width: int(8d/3) rounded up to a multiple of 256 (768 -> 2048, 1280 -> 3584).
inline std::int64_t round_up_256_ffn(std::int64_t dim) {
  check(dim >= 1, "round_up_256_ffn", "dim ", dim, " must be positive");
  const std::int64_t hidden = 8 * dim / 3;
  return (hidden + 255) / 256 * 256;
}

namespace detail {

inline void check_ar_shape(const ar_shape& s, const char* op) {
  check(s.dim >= 1 && s.heads >= 1 && s.dim % s.heads == 0, op, "dim ", s.dim, " must be a positive multiple of heads ",
        s.heads);
  check(s.ffn_hidden >= 1 && s.vocab >= 1 && s.classes >= 0 && s.tokens >= 1, op, "ffn_hidden ", s.ffn_hidden,
        ", vocab ", s.vocab, ", tokens ", s.tokens, " must be positive and classes ", s.classes, " non-negative");
}

inline void check_split(const dpar_split& split, const char* op) {
  check(split.encoder >= 1 && split.global >= 0 && split.decoder >= 1, op, "split encoder ", split.encoder,
        " / global ", split.global, " / decoder ", split.decoder, " needs at least one encoder and decoder layer");
}

inline void check_mean_patches(const ar_shape& s, double mean_patches, const char* op) {
  check(mean_patches >= 1.0 && mean_patches <= static_cast<double>(s.tokens), op, "mean_patches ", mean_patches,
        " must lie in [1, tokens = ", s.tokens, "]");
}

// One LLaMA block: q, k, v, o (4 d^2) + SwiGLU (3 d F) weights, two RMSNorm gains.
inline std::int64_t block_parameters(const ar_shape& s) {
  return 4 * s.dim * s.dim + 3 * s.dim * s.ffn_hidden + 2 * s.dim;
}

// Linear MACs of one block at one position.
inline double block_macs(const ar_shape& s) {
  const double d = static_cast<double>(s.dim);
  return 4.0 * d * d + 3.0 * d * static_cast<double>(s.ffn_hidden);
}

}  // namespace detail

// MACs of QK^T and AV for `positions` queries over d = heads x head_dim: causal query i sees i + 1 keys.
inline double attention_macs(double positions, std::int64_t dim, bool causal) {
  const double d = static_cast<double>(dim);
  return causal ? d * positions * (positions + 1.0) : 2.0 * d * positions * positions;
}

// Token table + class table + blocks + final norm + output head.
inline std::int64_t llamagen_parameters(const ar_shape& s, int layers) {
  detail::check_ar_shape(s, "llamagen_parameters");
  check(layers >= 0, "llamagen_parameters", "layers ", layers, " must be non-negative");
  return s.vocab * s.dim + s.classes * s.dim + layers * detail::block_parameters(s) + s.dim + s.vocab * s.dim;
}

// LlamaGen's tables, head and blocks, plus the local modules: each encoder layer's cross-attention (q, k, v, o
// and the q / kv norms), each decoder layer's copy (one d x d map and its norm), and the start vector.
inline std::int64_t dpar_parameters(const ar_shape& s, dpar_split split) {
  detail::check_ar_shape(s, "dpar_parameters");
  detail::check_split(split, "dpar_parameters");
  const std::int64_t d = s.dim, layers = split.encoder + split.global + split.decoder;
  const std::int64_t encoder_cross = split.encoder * (4 * d * d + 2 * d);
  const std::int64_t decoder_copy = split.decoder * (d * d + d);
  return llamagen_parameters(s, static_cast<int>(layers)) + encoder_cross + decoder_copy + d;
}

// T positions (class + T - 1 tokens) through every block, and the head at every position.
inline double llamagen_paper_flops(const ar_shape& s, int layers) {
  detail::check_ar_shape(s, "llamagen_paper_flops");
  check(layers >= 0, "llamagen_paper_flops", "layers ", layers, " must be non-negative");
  const double t = static_cast<double>(s.tokens), d = static_cast<double>(s.dim);
  return t * (layers * detail::block_macs(s) + d * static_cast<double>(s.vocab));
}

// Global blocks on 1 + M slots; encoder blocks on T - 1 tokens plus cross-attention projections (q, o on M
// patches, k, v on T - 1 tokens); decoder blocks on T positions plus the copy map on the 1 + M global
// outputs; the head on T positions.
inline double dpar_paper_flops(const ar_shape& s, dpar_split split, double mean_patches) {
  constexpr const char* op = "dpar_paper_flops";
  detail::check_ar_shape(s, op);
  detail::check_split(split, op);
  detail::check_mean_patches(s, mean_patches, op);
  const double t = static_cast<double>(s.tokens), d = static_cast<double>(s.dim), m = mean_patches;
  const double block = detail::block_macs(s);
  const double global = split.global * block * (1.0 + m);
  const double encoder = split.encoder * ((t - 1.0) * block + d * d * (2.0 * m + 2.0 * (t - 1.0)));
  const double decoder = split.decoder * (t * block + d * d * (m + 1.0));
  return global + encoder + decoder + t * d * static_cast<double>(s.vocab);
}

inline flop_count llamagen_full_flops(const ar_shape& s, int layers) {
  const double macs =
      llamagen_paper_flops(s, layers) + layers * attention_macs(static_cast<double>(s.tokens), s.dim, true);
  return {2.0 * macs, 6.0 * macs};
}

// As dpar_paper_flops, plus causal self-attention in every block (global on 1 + M slots, encoder on T - 1
// tokens, decoder on T positions) and the encoder cross-attention, where each of the T - 1 tokens is one
// key of exactly one patch query (QK and AV: 2 d MACs per token).
inline flop_count dpar_full_flops(const ar_shape& s, dpar_split split, double mean_patches) {
  const double t = static_cast<double>(s.tokens), d = static_cast<double>(s.dim);
  const double attention = split.global * attention_macs(1.0 + mean_patches, s.dim, true) +
                           split.encoder * (attention_macs(t - 1.0, s.dim, true) + 2.0 * d * (t - 1.0)) +
                           split.decoder * attention_macs(t, s.dim, true);
  const double macs = dpar_paper_flops(s, split, mean_patches) + attention;
  return {2.0 * macs, 6.0 * macs};
}

}  // namespace patchzoo::dpar
