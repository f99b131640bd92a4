#pragma once
// Class-conditional sampling of token grids (digest 1.9, 1.11). A stepper gives the logits of position t
// of every image from the tokens x_<t sampled so far; sample_tokens() guides, filters and draws them.
//  * baseline_stepper: LlamaGen with KV-cached incremental decoding (one new slot per step).
//  * dpar_stepper: the paper's generate_dynamic. At step t the KV-cached entropy model has seen x_<t and
//    gives H_t; the patcher with "include the next token" turns H_1..H_t into lengths summing to t + 1;
//    then a full DPAR forward re-runs every step (no cache). The model takes whole images, so the prefix is
//    padded to T with token 0 in patches of length 1: by causality nothing after x_{t-1} reaches the logits
//    at t, and the padding patches come after patch pi(t), whose global slot G[pi(t)] position t reads.
// With guidance (cfg_scale != 1) every image also runs with the null class; both halves share the lengths.
// Draws use uniform01(seed stream of image i, step t): the same seed gives the same samples.
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "patchzoo/core/rng.hpp"
#include "patchzoo/dpar/dpar_model.hpp"
#include "patchzoo/dpar/entropy.hpp"
#include "patchzoo/dpar/llamagen_model.hpp"
#include "patchzoo/dpar/patcher.hpp"
#include "patchzoo/dpar/sampling_filters.hpp"

namespace patchzoo::dpar {

// Logits of one position for every image: cond [n, vocab], and uncond [n, vocab] when guided.
struct step_logits {
  tensor<float> cond, uncond;
};

using token_rows = std::vector<std::vector<std::int32_t>>;  // per image: the tokens sampled so far

template <backend B>
  requires transformer_ops<B, float>
class baseline_stepper {
 public:
  baseline_stepper(llamagen_model<B, float>& model, const std::vector<std::int32_t>& labels, bool guided)
      : model_(model) {
    check(model.config().conditional, "baseline_stepper", "the baseline must be a conditional LlamaGen model");
    for (const auto label : labels) {
      check(label >= 0 && label < model.config().classes, "baseline_stepper", "label ", label, " is out of range [0, ",
            model.config().classes, ")");
      cond_.push_back(model.start_decoding(label));
      if (guided) uncond_.push_back(model.start_decoding(static_cast<std::int32_t>(model.config().classes)));
    }
  }

  std::int64_t tokens() const { return model_.config().tokens; }
  std::int64_t vocab() const { return model_.config().vocab; }

  // Step t feeds x_{t-1} of each image (at t = 0 the class slot alone) and returns the logits for x_t.
  step_logits step(B& be, std::int64_t t, const token_rows& tokens) {
    const auto n = static_cast<std::int64_t>(cond_.size());
    step_logits out{tensor<float>(shape_t{n, vocab()}), uncond_.empty() ? tensor<float>() : tensor<float>(shape_t{n, vocab()})};
    for (std::int64_t i = 0; i < n; ++i) {
      const auto& x = tokens[static_cast<std::size_t>(i)];
      const std::vector<std::int32_t> feed = t == 0 ? std::vector<std::int32_t>{} : std::vector<std::int32_t>{x[static_cast<std::size_t>(t - 1)]};
      copy_last_row(model_.decode(be, cond_[static_cast<std::size_t>(i)], feed), out.cond, i);
      if (!uncond_.empty()) copy_last_row(model_.decode(be, uncond_[static_cast<std::size_t>(i)], feed), out.uncond, i);
    }
    return out;
  }

 private:
  static void copy_last_row(const tensor<float>& logits, tensor<float>& dst, std::int64_t row) {
    const std::int64_t v = logits.dim(1);
    std::copy(logits.data() + (logits.dim(0) - 1) * v, logits.data() + logits.dim(0) * v, dst.data() + row * v);
  }

  llamagen_model<B, float>& model_;
  std::vector<typename llamagen_model<B, float>::decode_state> cond_, uncond_;
};

template <backend B>
  requires transformer_ops<B, float>
class dpar_stepper {
 public:
  // The entropy model may be null only for the token and static patching modes, which read no entropy.
  dpar_stepper(dpar_model<B, float>& model, llamagen_model<B, float>* entropy_model, const patcher_config& patcher,
               const std::vector<std::int32_t>& labels, bool guided)
      : model_(model), entropy_(entropy_model), patcher_(patcher), labels_(labels), guided_(guided) {
    const auto& c = model.config();
    const bool needs_entropy = patcher.mode == patching_mode::entropy || patcher.mode == patching_mode::entropy_row_boundary;
    check(!needs_entropy || entropy_model != nullptr, "dpar_stepper", "entropy patching needs the entropy model");
    if (entropy_model) {
      const auto& e = entropy_model->config();
      check(!e.conditional && e.tokens == c.tokens && e.row_width == c.row_width && e.vocab == c.vocab, "dpar_stepper",
            "the entropy model (conditional ", e.conditional, ", ", e.tokens, " tokens, rows of ", e.row_width,
            ", vocab ", e.vocab, ") must be unconditional and match DPAR's ", c.tokens, " tokens, rows of ", c.row_width,
            ", vocab ", c.vocab);
    }
    for (const auto label : labels) {
      check(label >= 0 && label < c.classes, "dpar_stepper", "label ", label, " is out of range [0, ", c.classes, ")");
      if (entropy_model) states_.push_back(entropy_model->start_decoding());
      entropies_.emplace_back(static_cast<std::size_t>(c.tokens), 0.0f);
    }
    lengths_.resize(labels.size());
  }

  std::int64_t tokens() const { return model_.config().tokens; }
  std::int64_t vocab() const { return model_.config().vocab; }
  // Patch lengths of the last step's prefix, per image (after the last step: the whole image's patches).
  const std::vector<std::vector<std::int32_t>>& lengths() const { return lengths_; }
  // H_t of the tokens seen so far, per image (column 0 unused).
  const std::vector<std::vector<float>>& entropies() const { return entropies_; }

  step_logits step(B& be, std::int64_t t, const token_rows& tokens) {
    const auto n = static_cast<std::int64_t>(labels_.size());
    const std::int64_t t_img = tokens_count(), v = vocab();
    for (std::int64_t i = 0; i < n; ++i) {
      const auto ii = static_cast<std::size_t>(i);
      if (entropy_ && t >= 1) {  // H_t = H(p(x_t | x_<t)) once x_{t-1} is fed
        const auto lg = entropy_->decode(be, states_[ii], {tokens[ii][static_cast<std::size_t>(t - 1)]});
        next_token_entropy(lg.data() + (lg.dim(0) - 1) * v, 1, v, entropies_[ii].data() + t, false);
      }
      lengths_[ii] = patch_lengths(patcher_, entropies_[ii], t + 1);
    }
    token_grid_batch grid{t_img, model_.config().row_width, {}, {}};
    std::vector<std::vector<std::int32_t>> lengths;
    for (int half = 0; half < (guided_ ? 2 : 1); ++half)
      for (std::int64_t i = 0; i < n; ++i) {
        const auto ii = static_cast<std::size_t>(i);
        grid.tokens.insert(grid.tokens.end(), tokens[ii].begin(), tokens[ii].begin() + t);
        grid.tokens.insert(grid.tokens.end(), static_cast<std::size_t>(t_img - t), 0);
        grid.labels.push_back(half == 0 ? labels_[ii] : static_cast<std::int32_t>(model_.config().classes));
        auto padded = lengths_[ii];
        padded.insert(padded.end(), static_cast<std::size_t>(t_img - t - 1), 1);
        lengths.push_back(std::move(padded));
      }
    model_.forward(be, make_dpar_batch(std::move(grid), std::move(lengths)));
    const tensor<float> all = model_.logits(be);
    step_logits out{tensor<float>(shape_t{n, v}), guided_ ? tensor<float>(shape_t{n, v}) : tensor<float>()};
    for (std::int64_t i = 0; i < n; ++i) {
      const float* c = all.data() + (i * t_img + t) * v;
      std::copy(c, c + v, out.cond.data() + i * v);
      if (guided_) {
        const float* u = all.data() + ((n + i) * t_img + t) * v;
        std::copy(u, u + v, out.uncond.data() + i * v);
      }
    }
    return out;
  }

 private:
  std::int64_t tokens_count() const { return model_.config().tokens; }

  dpar_model<B, float>& model_;
  llamagen_model<B, float>* entropy_;
  patcher_config patcher_;
  std::vector<std::int32_t> labels_;
  bool guided_;
  std::vector<typename llamagen_model<B, float>::decode_state> states_;
  std::vector<std::vector<float>> entropies_;
  std::vector<std::vector<std::int32_t>> lengths_;
};

// Samples T tokens per image with any stepper; on_step(t + 1) after each position. `vocab` may be below the
// model's vocabulary (the tokenizer's codebook size): classes from `vocab` on are never drawn.
template <backend B, class Stepper>
token_rows sample_tokens(B& be, Stepper& stepper, std::int64_t images, std::int64_t vocab, const sampling_config& sc,
                         const std::function<void(std::int64_t)>& on_step = {}) {
  check_sampling_config(sc);
  check(vocab >= 1 && vocab <= stepper.vocab(), "sample_tokens", "vocab ", vocab, " must be in [1, ", stepper.vocab(), "]");
  token_rows tokens(static_cast<std::size_t>(images));
  const std::int64_t v = stepper.vocab();
  for (std::int64_t t = 0; t < stepper.tokens(); ++t) {
    const step_logits lg = stepper.step(be, t, tokens);
    for (std::int64_t i = 0; i < images; ++i) {
      const float* uncond = lg.uncond.empty() ? nullptr : lg.uncond.data() + i * v;
      const auto probs = sampling_probabilities(guided_logits(lg.cond.data() + i * v, uncond, vocab, sc.cfg_scale), sc);
      const double u = uniform01(sc.seed * 0x9E3779B97F4A7C15ull + static_cast<std::uint64_t>(i), static_cast<std::uint64_t>(t));
      tokens[static_cast<std::size_t>(i)].push_back(draw_token(probs, u));
    }
    if (on_step) on_step(t + 1);
  }
  return tokens;
}

inline bool is_guided(const sampling_config& sc) { return sc.cfg_scale != 1.0; }

}  // namespace patchzoo::dpar
