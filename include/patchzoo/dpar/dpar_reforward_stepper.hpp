#pragma once
// The reference code's sampler: at every token a full DPAR forward over the whole prefix, no
// cache for the encoder, the global model or the decoder. Kept as the slow anchor that the KV-cached
// dpar_stepper is measured against (bench_sampling) and checked against (tests/dpar/test_sampler.cpp).
// The model takes whole images, so the prefix is padded to T with token 0 in patches of length 1: by
// causality nothing after x_{t-1} reaches the logits at t, and the padding patches come after patch pi(t),
// whose global slot position t reads. The entropy model decodes with its KV cache, one image at a time.
#include <cstdint>
#include <vector>

#include "patchzoo/dpar/dpar_model.hpp"
#include "patchzoo/dpar/dpar_stepper.hpp"
#include "patchzoo/dpar/entropy.hpp"
#include "patchzoo/dpar/llamagen_model.hpp"
#include "patchzoo/dpar/patcher.hpp"
#include "patchzoo/dpar/sampling_step.hpp"

namespace patchzoo::dpar {

template <backend B>
  requires transformer_ops<B, float>
class dpar_reforward_stepper {
 public:
  // The entropy model may be null only for the token and static patching modes, which read no entropy.
  dpar_reforward_stepper(dpar_model<B, float>& model, llamagen_model<B, float>* entropy_model, const patcher_config& patcher,
                         const std::vector<std::int32_t>& labels, guidance g)
      : model_(model), entropy_(entropy_model), patcher_(patcher), labels_(labels), guidance_(g) {
    const auto& c = model.config();
    check(!stepper_detail::needs_entropy(patcher) || entropy_model != nullptr, "dpar_reforward_stepper",
          "entropy patching needs the entropy model");
    if (entropy_model) stepper_detail::check_entropy_model(entropy_model->config(), c, "dpar_reforward_stepper");
    for (const auto label : labels) {
      check(label >= 0 && label < c.classes, "dpar_reforward_stepper", "label ", label, " is out of range [0, ", c.classes, ")");
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
        next_token_entropy(lg.cview().slice_rows(lg.dim(0) - 1, lg.dim(0)),
                           std::span(entropies_[ii]).subspan(static_cast<std::size_t>(t), 1), entropy_input::logits);
      }
      lengths_[ii] = patch_lengths(patcher_, entropies_[ii], t + 1);
    }
    token_grid_batch grid{t_img, model_.config().row_width, {}, {}};
    std::vector<std::vector<std::int32_t>> lengths;
    for (int half = 0; half < halves(guidance_); ++half)
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
    step_logits out{tensor<float>(shape_t{n, v}), guidance_ == guidance::classifier_free ? tensor<float>(shape_t{n, v}) : tensor<float>()};
    for (std::int64_t i = 0; i < n; ++i) {
      const float* c = all.data() + (i * t_img + t) * v;
      std::copy(c, c + v, out.cond.data() + i * v);
      if (guidance_ == guidance::classifier_free) {
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
  guidance guidance_;
  std::vector<typename llamagen_model<B, float>::decode_state> states_;
  std::vector<std::vector<float>> entropies_;
  std::vector<std::vector<std::int32_t>> lengths_;
};

}  // namespace patchzoo::dpar
