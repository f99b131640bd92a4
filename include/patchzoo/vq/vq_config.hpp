#pragma once
// Configuration of the VQ image tokenizer (a small LlamaGen-style VQ: conv encoder, l2-normalised
// codebook with low-dimensional codes, conv decoder) and the ops it needs from a backend.
#include <cstdint>
#include <string>

#include "patchzoo/backend/concepts.hpp"

namespace patchzoo::vq {

// Everything the tokenizer calls: the transformer and conv families plus the layout ops.
template <class B, class T>
concept vq_ops = transformer_ops<B, T> && conv_ops<B, T> &&
    requires(B& b, view<T> x, cview<T> c, view<std::int32_t> iout) {
      row_argmax(b, iout, c);
      transpose_last2(b, x, c, true);
    };

// loss: codebook + commitment terms train the codebook by gradient (LlamaGen).
// ema: the codebook follows exponential moving averages of its assigned latents; only the commitment
// term reaches the encoder.
enum class quantizer_mode { loss, ema };

inline const char* mode_name(quantizer_mode m) { return m == quantizer_mode::loss ? "loss" : "ema"; }
inline quantizer_mode parse_mode(const std::string& s) {
  check(s == "loss" || s == "ema", "vq_config", "quantizer mode '", s, "' is not 'loss' or 'ema'");
  return s == "loss" ? quantizer_mode::loss : quantizer_mode::ema;
}

struct vq_config {
  std::int64_t codebook_size = 512;
  std::int64_t code_dim = 8;
  std::int64_t hidden = 64;
  std::int64_t downsample = 2;  // 1, 2 or 4: image side / token-grid side
  double beta = 0.25;           // commitment weight
  quantizer_mode mode = quantizer_mode::loss;
  double ema_decay = 0.99;
  std::int64_t dead_code_steps = 200;  // restart codes unused for this many steps; 0 disables restarts
  double norm_eps = 1e-12;             // inside the l2 normalisation: x / sqrt(||x||^2 + D eps)

  void validate() const {
    check(codebook_size >= 2 && codebook_size <= 65536, "vq_config", "codebook_size ", codebook_size,
          " must be in [2, 65536] (tokens are stored as uint16)");
    check(code_dim >= 1 && hidden >= 1, "vq_config", "code_dim ", code_dim, " and hidden ", hidden,
          " must be positive");
    check(downsample == 1 || downsample == 2 || downsample == 4, "vq_config", "downsample ", downsample,
          " must be 1, 2 or 4");
    check(beta >= 0 && ema_decay > 0 && ema_decay < 1 && dead_code_steps >= 0, "vq_config", "beta ", beta,
          ", ema_decay ", ema_decay, " or dead_code_steps ", dead_code_steps, " is invalid");
  }
  int halvings() const { return downsample == 4 ? 2 : downsample == 2 ? 1 : 0; }
};

}  // namespace patchzoo::vq
