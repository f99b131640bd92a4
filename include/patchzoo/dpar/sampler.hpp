#pragma once
// Class-conditional sampling of token grids, as DPAR samples. A stepper gives the logits of position t
// of every image from the tokens x_<t sampled so far; sample_tokens() guides, filters and draws them.
//  * baseline_stepper: LlamaGen, all images in lockstep with KV caches (baseline_stepper.hpp);
//  * dpar_stepper: DPAR with the entropy model, encoder, global model and decoder all KV-cached
//    (dpar_stepper.hpp, dpar_incremental_decoder.hpp);
//  * dpar_reforward_stepper: the reference code's full re-forward per token, the slow anchor.
// With guidance (cfg_scale != 1) every image also runs with the null class; both halves share the lengths.
// Draws use draw_uniform(seed, image i, step t): the same seed gives the same samples. sample_in_groups()
// decodes the images in groups whose KV caches fit the CPU's cache, on backends that ask for it.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "patchzoo/dpar/baseline_stepper.hpp"
#include "patchzoo/dpar/dpar_reforward_stepper.hpp"
#include "patchzoo/dpar/dpar_stepper.hpp"
#include "patchzoo/dpar/sampling_filters.hpp"
#include "patchzoo/dpar/sampling_step.hpp"
#include "patchzoo/nn/decode_cache_budget.hpp"

namespace patchzoo::dpar {

// Samples T tokens per image with any stepper; on_step(t + 1) after each position. `vocab` may be below the
// model's vocabulary (the tokenizer's codebook size): classes from `vocab` on are never drawn. The
// stepper's image i draws as image first_image + i (sample_in_groups).
template <backend B, class Stepper>
token_rows sample_tokens(B& be, Stepper& stepper, std::int64_t images, std::int64_t vocab, const sampling_config& sc,
                         const std::function<void(std::int64_t)>& on_step = {}, std::int64_t first_image = 0) {
  check_sampling_config(sc);
  check(vocab >= 1 && vocab <= stepper.vocab(), "sample_tokens", "vocab ", vocab, " must be in [1, ", stepper.vocab(), "]");
  token_rows tokens(static_cast<std::size_t>(images));
  batch_token_sampler draws(sc, vocab);
  std::vector<std::int32_t> drawn;
  for (std::int64_t t = 0; t < stepper.tokens(); ++t) {
    const step_logits lg = stepper.step(be, t, tokens);
    draws.draw(lg.cond.data(), lg.uncond.empty() ? nullptr : lg.uncond.data(), stepper.vocab(), images, t, drawn,
               first_image);
    for (std::int64_t i = 0; i < images; ++i) tokens[static_cast<std::size_t>(i)].push_back(drawn[static_cast<std::size_t>(i)]);
    if (on_step) on_step(t + 1);
  }
  return tokens;
}

// How many of `images` images to decode together: on a backend with a decode cache budget
// (nn/decode_cache_budget.hpp) and weights that fit it, as many as keep their KV caches within it too, at
// least one, and no more than bring the step's thinnest projection to the backend's full-rate rows where it
// names them (more images would only add cache traffic); else all of them (weights that stream from memory
// anyway are better read once per step for every image, and a GPU wants the widest batch).
template <backend B>
std::int64_t images_per_group(std::int64_t images, const decode_footprint& footprint) {
  const std::int64_t all = std::max<std::int64_t>(images, 1);
  if (!nn::fits_decode_cache<B>(footprint.weight_bytes)) return all;
  std::int64_t wanted = all;
  if constexpr (nn::has_decode_full_rate_rows<B>) {
    check(footprint.rows_per_image >= 1, "images_per_group", "rows per image must be >= 1, got ", footprint.rows_per_image);
    wanted = std::min(all, (B::decode_full_rate_rows + footprint.rows_per_image - 1) / footprint.rows_per_image);
  }
  for (std::int64_t n = wanted; n > 1; --n)
    if (nn::fits_decode_cache<B>(static_cast<std::size_t>(n) * footprint.cache_bytes_per_image)) return n;
  return 1;
}

struct no_group_hook {
  template <class Stepper>
  void operator()(const Stepper&, std::int64_t) const {}
};

// Samples one image per label in groups of at most `per_group` images (of near-equal size), each group to
// its last token before the next starts, so that one group's KV caches stay in the CPU's cache instead of
// all images' caches streaming from memory at every step. make_stepper(labels of a group) returns that
// group's stepper; after_group(stepper, first image) reads what it kept (DPAR's patch lengths). Draws follow
// each image's index in `labels`: any grouping draws the same tokens from the same logits. on_step gets the
// positions sampled so far, averaged over all images.
template <backend B, class MakeStepper, class AfterGroup = no_group_hook>
token_rows sample_in_groups(B& be, const std::vector<std::int32_t>& labels, std::int64_t per_group, std::int64_t vocab,
                            const sampling_config& sc, MakeStepper&& make_stepper,
                            const std::function<void(std::int64_t)>& on_step = {}, AfterGroup&& after_group = {}) {
  const auto images = static_cast<std::int64_t>(labels.size());
  check(images >= 1, "sample_in_groups", "needs at least one label");
  check(per_group >= 1, "sample_in_groups", "images per group must be >= 1, got ", per_group);
  const std::int64_t groups = (images + per_group - 1) / per_group;
  token_rows tokens;
  for (std::int64_t g = 0, first = 0; g < groups; ++g) {
    const std::int64_t count = (images - first) / (groups - g);  // the rest split evenly over the groups left
    const std::vector<std::int32_t> group_labels(labels.begin() + first, labels.begin() + first + count);
    auto stepper = make_stepper(group_labels);
    const auto progress = [&](std::int64_t t) {
      if (on_step) on_step((first * stepper.tokens() + count * t) / images);
    };
    auto sampled = sample_tokens(be, stepper, count, vocab, sc, progress, first);
    after_group(stepper, first);
    for (auto& row : sampled) tokens.push_back(std::move(row));
    first += count;
  }
  return tokens;
}

// A CFG scale of exactly 1 is the conditional logits alone: the null-class half would change nothing.
inline guidance guidance_of(const sampling_config& sc) { return sc.cfg_scale != 1.0 ? guidance::classifier_free : guidance::none; }

// The baseline's samples, one image per label, decoded in groups of images_per_group().
template <backend B>
  requires transformer_ops<B, float>
token_rows sample_baseline_tokens(B& be, llamagen_model<B, float>& model, const std::vector<std::int32_t>& labels,
                                  std::int64_t vocab, const sampling_config& sc,
                                  const std::function<void(std::int64_t)>& on_step = {}) {
  const guidance g = guidance_of(sc);
  const auto images = static_cast<std::int64_t>(labels.size());
  const auto per_group = images_per_group<B>(images, baseline_stepper<B>::footprint(model, g));
  return sample_in_groups(be, labels, per_group, vocab, sc,
                          [&](const std::vector<std::int32_t>& group) { return baseline_stepper<B>(model, group, g); },
                          on_step);
}

// DPAR's samples, decoded in groups of images_per_group(); each image's patch lengths go to *lengths when
// given. The entropy model may be null only for the token and static patching modes.
template <backend B>
  requires transformer_ops<B, float>
token_rows sample_dpar_tokens(B& be, dpar_model<B, float>& model, llamagen_model<B, float>* entropy_model,
                              const patcher_config& patcher, const std::vector<std::int32_t>& labels, std::int64_t vocab,
                              const sampling_config& sc, const std::function<void(std::int64_t)>& on_step = {},
                              std::vector<std::vector<std::int32_t>>* lengths = nullptr) {
  const guidance g = guidance_of(sc);
  const auto images = static_cast<std::int64_t>(labels.size());
  const auto per_group = images_per_group<B>(images, dpar_stepper<B>::footprint(model, entropy_model, g));
  if (lengths) lengths->assign(labels.size(), {});
  return sample_in_groups(
      be, labels, per_group, vocab, sc,
      [&](const std::vector<std::int32_t>& group) { return dpar_stepper<B>(model, entropy_model, patcher, group, g); },
      on_step, [&](const dpar_stepper<B>& stepper, std::int64_t first) {
        if (!lengths) return;
        for (std::size_t i = 0; i < stepper.lengths().size(); ++i) (*lengths)[static_cast<std::size_t>(first) + i] = stepper.lengths()[i];
      });
}

}  // namespace patchzoo::dpar
