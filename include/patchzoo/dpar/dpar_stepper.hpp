#pragma once
// Sampling steps of DPAR, the reference code's generate_dynamic with every stage KV-cached. At step t
// the entropy model (lockstep over the images) has seen x_<t and gives H_t; the prefix-stable patcher with
// "include the next token" turns H_1..H_t into lengths summing to t + 1; dpar_incremental_decoder then
// advances the encoder by x_{t-1}, the global model by any patch that just completed, and the decoder by
// one position. With guidance both halves share the lengths (they come from the shared tokens).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "patchzoo/dpar/dpar_incremental_decoder.hpp"
#include "patchzoo/dpar/entropy.hpp"
#include "patchzoo/dpar/llamagen_model.hpp"
#include "patchzoo/dpar/patcher.hpp"
#include "patchzoo/dpar/sampling_step.hpp"

namespace patchzoo::dpar {

namespace stepper_detail {

// The entropy model must be unconditional and see the same grid and vocabulary as DPAR.
template <class EntropyConfig, class DparConfig>
void check_entropy_model(const EntropyConfig& e, const DparConfig& c, const char* op) {
  check(!e.conditional && e.tokens == c.tokens && e.row_width == c.row_width && e.vocab == c.vocab, op,
        "the entropy model (conditional ", e.conditional, ", ", e.tokens, " tokens, rows of ", e.row_width, ", vocab ",
        e.vocab, ") must be unconditional and match DPAR's ", c.tokens, " tokens, rows of ", c.row_width, ", vocab ",
        c.vocab);
}

inline bool needs_entropy(const patcher_config& pc) {
  return pc.mode == patching_mode::entropy || pc.mode == patching_mode::entropy_row_boundary;
}

}  // namespace stepper_detail

template <backend B>
  requires transformer_ops<B, float>
class dpar_stepper {
 public:
  // The entropy model may be null only for the token and static patching modes, which read no entropy.
  // The patcher may differ from training's (the paper's larger patches at inference: theta, P_max).
  dpar_stepper(dpar_model<B, float>& model, llamagen_model<B, float>* entropy_model, const patcher_config& patcher,
               const std::vector<std::int32_t>& labels, guidance g)
      : model_(model), entropy_(entropy_model), patcher_(patcher), images_(static_cast<std::int64_t>(labels.size())),
        guidance_(g), decoder_(model, labels, g) {
    const auto& c = model.config();
    check(!stepper_detail::needs_entropy(patcher) || entropy_model != nullptr, "dpar_stepper",
          "entropy patching needs the entropy model");
    if (entropy_model) {
      stepper_detail::check_entropy_model(entropy_model->config(), c, "dpar_stepper");
      entropy_state_ = entropy_model->start_lockstep(images_);
    }
    entropies_.assign(static_cast<std::size_t>(images_), std::vector<float>(static_cast<std::size_t>(c.tokens), 0.0f));
    lengths_.resize(static_cast<std::size_t>(images_));
  }

  // The entropy model's weights and caches included.
  static decode_footprint footprint(const dpar_model<B, float>& model, const llamagen_model<B, float>* entropy_model,
                                    guidance g) {
    decode_footprint f{model.params().bytes(), dpar_incremental_decoder<B, float>::cache_bytes_per_image(model, g)};
    if (entropy_model) {
      f.weight_bytes += entropy_model->params().bytes();
      f.cache_bytes_per_image += entropy_model->lockstep_cache_bytes_per_sequence();
    }
    return f;
  }

  std::int64_t tokens() const { return model_.config().tokens; }
  std::int64_t vocab() const { return model_.config().vocab; }
  // Patch lengths of the last step's prefix, per image (after the last step: the whole image's patches).
  const std::vector<std::vector<std::int32_t>>& lengths() const { return lengths_; }
  // H_t of the tokens seen so far, per image (column 0 unused).
  const std::vector<std::vector<float>>& entropies() const { return entropies_; }

  step_logits step(B& be, std::int64_t t, const token_rows& tokens) {
    std::vector<std::int32_t> previous;
    if (t > 0)
      for (std::int64_t i = 0; i < images_; ++i) previous.push_back(tokens[static_cast<std::size_t>(i)][static_cast<std::size_t>(t - 1)]);
    if (entropy_ && t > 0) {  // H_t = H(p(x_t | x_<t)) once x_{t-1} is fed
      const tensor<float> lg = entropy_->decode_lockstep(be, entropy_state_, previous);
      for (std::int64_t i = 0; i < images_; ++i)
        next_token_entropy(lg.cview().slice_rows(i, i + 1),
                           std::span(entropies_[static_cast<std::size_t>(i)]).subspan(static_cast<std::size_t>(t), 1),
                           entropy_input::logits);
    }
    for (std::int64_t i = 0; i < images_; ++i)
      lengths_[static_cast<std::size_t>(i)] = patch_lengths(patcher_, entropies_[static_cast<std::size_t>(i)], t + 1);
    return split_halves(decoder_.step(be, previous, lengths_), images_, guidance_);
  }

 private:
  dpar_model<B, float>& model_;
  llamagen_model<B, float>* entropy_;
  patcher_config patcher_;
  std::int64_t images_;
  guidance guidance_;
  dpar_incremental_decoder<B, float> decoder_;
  typename llamagen_model<B, float>::lockstep_state entropy_state_;
  std::vector<std::vector<float>> entropies_;
  std::vector<std::vector<std::int32_t>> lengths_;
};

}  // namespace patchzoo::dpar
