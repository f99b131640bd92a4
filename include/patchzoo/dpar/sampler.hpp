#pragma once
// Class-conditional sampling of token grids, as DPAR samples. A stepper gives the logits of position t
// of every image from the tokens x_<t sampled so far; sample_tokens() guides, filters and draws them.
//  * baseline_stepper: LlamaGen, all images in lockstep with KV caches (baseline_stepper.hpp);
//  * dpar_stepper: DPAR with the entropy model, encoder, global model and decoder all KV-cached
//    (dpar_stepper.hpp, dpar_incremental_decoder.hpp);
//  * dpar_reforward_stepper: the reference code's full re-forward per token, the slow anchor.
// With guidance (cfg_scale != 1) every image also runs with the null class; both halves share the lengths.
// Draws use draw_uniform(seed, image i, step t): the same seed gives the same samples.
#include <cstdint>
#include <functional>
#include <vector>

#include "patchzoo/dpar/baseline_stepper.hpp"
#include "patchzoo/dpar/dpar_reforward_stepper.hpp"
#include "patchzoo/dpar/dpar_stepper.hpp"
#include "patchzoo/dpar/sampling_filters.hpp"
#include "patchzoo/dpar/sampling_step.hpp"

namespace patchzoo::dpar {

// Samples T tokens per image with any stepper; on_step(t + 1) after each position. `vocab` may be below the
// model's vocabulary (the tokenizer's codebook size): classes from `vocab` on are never drawn.
template <backend B, class Stepper>
token_rows sample_tokens(B& be, Stepper& stepper, std::int64_t images, std::int64_t vocab, const sampling_config& sc,
                         const std::function<void(std::int64_t)>& on_step = {}) {
  check_sampling_config(sc);
  check(vocab >= 1 && vocab <= stepper.vocab(), "sample_tokens", "vocab ", vocab, " must be in [1, ", stepper.vocab(), "]");
  token_rows tokens(static_cast<std::size_t>(images));
  batch_token_sampler draws(sc, vocab);
  std::vector<std::int32_t> drawn;
  for (std::int64_t t = 0; t < stepper.tokens(); ++t) {
    const step_logits lg = stepper.step(be, t, tokens);
    draws.draw(lg.cond.data(), lg.uncond.empty() ? nullptr : lg.uncond.data(), stepper.vocab(), images, t, drawn);
    for (std::int64_t i = 0; i < images; ++i) tokens[static_cast<std::size_t>(i)].push_back(drawn[static_cast<std::size_t>(i)]);
    if (on_step) on_step(t + 1);
  }
  return tokens;
}

// A CFG scale of exactly 1 is the conditional logits alone: the null-class half would change nothing.
inline guidance guidance_of(const sampling_config& sc) { return sc.cfg_scale != 1.0 ? guidance::classifier_free : guidance::none; }

}  // namespace patchzoo::dpar
