#pragma once
// Batches for the image-token models. A token_grid_batch is B images of T raster-order tokens on a grid
// of row width W, with class labels. A dpar_batch adds each image's patch lengths and every packed index
// the DPAR model needs: images lie end to end (no padding) in four streams - tokens (T each), encoder
// tokens (x_0..x_{T-2}, T-1 each), patches (P_i each) and global slots ([class; patches], 1+P_i each).
#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "patchzoo/core/error.hpp"
#include "patchzoo/core/rng.hpp"
#include "patchzoo/dpar/patcher.hpp"
#include "patchzoo/nn/rope_table.hpp"

namespace patchzoo::dpar {

struct token_grid_batch {
  std::int64_t tokens_per_image = 0;  // T
  std::int64_t row_width = 0;         // W; T is a whole number of rows
  std::vector<std::int32_t> tokens;   // [B * T], image after image
  std::vector<std::int32_t> labels;   // [B]; empty for unconditional models

  std::int64_t images() const {
    return tokens_per_image > 0 ? static_cast<std::int64_t>(tokens.size()) / tokens_per_image : 0;
  }

  // Checks everything the models rely on. Labels are checked against `classes` (plus the CFG null class);
  // classes 0 is an unconditional model, whose batches need no labels.
  void validate(std::int64_t vocab, std::int64_t classes) const {
    const char* op = "token_grid_batch";
    check(tokens_per_image >= 2, op, "tokens_per_image ", tokens_per_image, " must be at least 2");
    check(row_width >= 1 && tokens_per_image % row_width == 0, op, "tokens_per_image ", tokens_per_image,
          " is not a whole number of rows of width ", row_width);
    check(!tokens.empty() && static_cast<std::int64_t>(tokens.size()) % tokens_per_image == 0, op, "holds ",
          tokens.size(), " tokens, not a positive multiple of ", tokens_per_image);
    for (std::size_t i = 0; i < tokens.size(); ++i)
      check(tokens[i] >= 0 && tokens[i] < vocab, op, "token ", tokens[i], " at position ", i,
            " is out of range [0, ", vocab, ")");
    if (classes == 0) return;
    check(static_cast<std::int64_t>(labels.size()) == images(), op, "holds ", labels.size(), " labels for ",
          images(), " images");
    for (std::size_t i = 0; i < labels.size(); ++i)  // index `classes` is the CFG null class
      check(labels[i] >= 0 && labels[i] <= classes, op, "label ", labels[i], " of image ", i,
            " is out of range [0, ", classes, "]");
  }
};

// Training-time randomness of one step: label dropout (CFG) and token dropout draw from counter-RNG
// streams derived from `seed`, so a step is reproducible and identical on every backend.
struct step_noise {
  bool training = false;
  std::uint64_t seed = 0;

  std::uint64_t stream(std::uint64_t purpose) const { return seed * 0x9E3779B97F4A7C15ull + purpose; }

  // Labels with a fraction p replaced by the null class (only when training).
  std::vector<std::int32_t> dropped_labels(const std::vector<std::int32_t>& labels, float p,
                                           std::int32_t null_class) const {
    std::vector<std::int32_t> out = labels;
    if (!training || p <= 0.0f) return out;
    for (std::size_t i = 0; i < out.size(); ++i)
      if (uniform01(stream(1), i) < p) out[i] = null_class;
    return out;
  }
  std::uint64_t token_dropout_seed() const { return stream(2); }
};

struct dpar_batch {
  token_grid_batch grid;
  std::vector<std::vector<std::int32_t>> lengths;  // per image: patch lengths summing to T

  std::vector<std::int32_t> token_offsets;    // [B+1] first token (decoder position) of each image
  std::vector<std::int32_t> encoder_offsets;  // [B+1] first encoder token of each image
  std::vector<std::int32_t> patch_offsets;    // [B+1] first packed patch of each image
  std::vector<std::int32_t> slot_offsets;     // [B+1] first global slot (the class slot) of each image
  std::vector<std::int32_t> pool_offsets;     // [P_total+1] encoder-token span of each packed patch
  std::vector<std::int32_t> slot_sources;     // [S_total] global slot -> patch row, or P_total + image (class)
  std::vector<std::int32_t> token_slots;      // [B*T] global slot that position j reads: slot pi(j) of its image

  std::int64_t images() const { return grid.images(); }
  std::int64_t patches() const { return patch_offsets.back(); }
  std::int64_t slots() const { return slot_offsets.back(); }
};

// RoPE tables of several sequences laid end to end, matching a packed batch.
template <class T>
nn::rope_table<T> stack_rope_tables(const std::vector<const nn::rope_table<T>*>& parts) {
  check(!parts.empty(), "stack_rope_tables", "no table to stack");
  const std::int64_t pairs = parts[0]->cos.dim(1);
  std::int64_t rows = 0;
  for (const auto* t : parts) {
    check(t->cos.dim(1) == pairs, "stack_rope_tables", "tables differ in pair count (", pairs, " vs ",
          t->cos.dim(1), ")");
    rows += t->cos.dim(0);
  }
  nn::rope_table<T> out{tensor<T>(shape_t{rows, pairs}), tensor<T>(shape_t{rows, pairs})};
  std::int64_t at = 0;
  for (const auto* t : parts) {
    std::copy(t->cos.data(), t->cos.data() + t->cos.numel(), out.cos.data() + at);
    std::copy(t->sin.data(), t->sin.data() + t->sin.numel(), out.sin.data() + at);
    at += t->cos.numel();
  }
  return out;
}

// Builds every packed index from the grid and per-image patch lengths. The last patch may reach past the
// encoder tokens (it can hold x_{T-1}); its encoder span is cut at T-1 tokens and may be empty.
inline dpar_batch make_dpar_batch(token_grid_batch grid, std::vector<std::vector<std::int32_t>> lengths) {
  const char* op = "make_dpar_batch";
  const std::int64_t n_img = grid.images(), t_img = grid.tokens_per_image;
  check(n_img > 0, op, "the batch holds no image");
  check(static_cast<std::int64_t>(lengths.size()) == n_img, op, lengths.size(), " patch-length lists for ", n_img,
        " images");
  dpar_batch b{std::move(grid), std::move(lengths), {0}, {0}, {0}, {0}, {0}, {}, {}};
  const auto enc = static_cast<std::int32_t>(t_img - 1);
  for (std::int64_t i = 0; i < n_img; ++i) {
    const auto& len = b.lengths[i];
    check(!len.empty(), op, "image ", i, " has no patch");
    std::int64_t total = 0;
    for (std::size_t p = 0; p < len.size(); ++p) {
      check(len[p] >= 1, op, "image ", i, " patch ", p, " has length ", len[p]);
      total += len[p];
    }
    check(total == t_img, op, "image ", i, " patch lengths sum to ", total, ", not ", t_img);
    const auto bounds = patch_offsets(len);
    const std::int32_t enc_base = b.encoder_offsets.back(), patch_base = b.patch_offsets.back(),
                       slot_base = b.slot_offsets.back(), n_patch = static_cast<std::int32_t>(len.size());
    for (std::int32_t p = 1; p <= n_patch; ++p) b.pool_offsets.push_back(enc_base + std::min(bounds[p], enc));
    b.slot_sources.push_back(static_cast<std::int32_t>(0));  // the class slot; fixed up below
    for (std::int32_t p = 0; p < n_patch; ++p) b.slot_sources.push_back(patch_base + p);
    for (const std::int32_t pi : patch_ids(len)) b.token_slots.push_back(slot_base + pi);
    b.token_offsets.push_back(static_cast<std::int32_t>((i + 1) * t_img));
    b.encoder_offsets.push_back(enc_base + enc);
    b.patch_offsets.push_back(patch_base + n_patch);
    b.slot_offsets.push_back(slot_base + 1 + n_patch);
  }
  for (std::int64_t i = 0; i < n_img; ++i)  // class rows follow the patch rows in the global source table
    b.slot_sources[b.slot_offsets[i]] = static_cast<std::int32_t>(b.patches() + i);
  return b;
}

}  // namespace patchzoo::dpar
