#pragma once
// Sampling steps of the LlamaGen baseline: all images (and, with guidance, their null-class twins) decode
// in lockstep with KV caches, one new slot per step.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "patchzoo/dpar/llamagen_model.hpp"
#include "patchzoo/dpar/sampling_step.hpp"

namespace patchzoo::dpar {

template <backend B>
  requires transformer_ops<B, float>
class baseline_stepper {
 public:
  baseline_stepper(llamagen_model<B, float>& model, const std::vector<std::int32_t>& labels, guidance g)
      : model_(model), images_(static_cast<std::int64_t>(labels.size())), guidance_(g) {
    check(model.config().conditional, "baseline_stepper", "the baseline must be a conditional LlamaGen model");
    std::vector<std::int32_t> sequences;
    for (const auto label : labels) {
      check(label >= 0 && label < model.config().classes, "baseline_stepper", "label ", label,
            " is out of range [0, ", model.config().classes, ")");
      sequences.push_back(label);
    }
    if (g == guidance::classifier_free) sequences.insert(sequences.end(), labels.size(), static_cast<std::int32_t>(model.config().classes));
    state_ = model.start_lockstep(static_cast<std::int64_t>(sequences.size()), sequences);
  }

  static decode_footprint footprint(const llamagen_model<B, float>& model, guidance g) {
    return {model.params().bytes(), static_cast<std::size_t>(halves(g)) * model.lockstep_cache_bytes_per_sequence(),
            halves(g)};
  }

  std::int64_t tokens() const { return model_.config().tokens; }
  std::int64_t vocab() const { return model_.config().vocab; }

  // Step t feeds x_{t-1} of each image (at t = 0 the class slots) and returns the logits for x_t.
  step_logits step(B& be, std::int64_t t, const token_rows& tokens) {
    std::vector<std::int32_t> feed;
    if (t > 0)
      for (int half = 0; half < halves(guidance_); ++half)
        for (std::int64_t i = 0; i < images_; ++i) feed.push_back(tokens[static_cast<std::size_t>(i)][static_cast<std::size_t>(t - 1)]);
    return split_halves(model_.decode_lockstep(be, state_, feed), images_, guidance_);
  }

 private:
  llamagen_model<B, float>& model_;
  std::int64_t images_;
  guidance guidance_;
  typename llamagen_model<B, float>::lockstep_state state_;
};

}  // namespace patchzoo::dpar
