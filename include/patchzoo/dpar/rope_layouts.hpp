#pragma once
// DPAR's RoPE tables (arXiv 2512.21867), as nn::rope_table rows of cos/sin per interleaved pair:
//  * rope_grid_tokens: LlamaGen 2-D RoPE over the grid cells of tokens (local encoder and decoder);
//  * rope_global_slots: the global transformer's [class; patch_0 .. patch_{P-1}] slots, in one of the
//    three position layouts of the reference code (1-D slot index, dynamic 3-d, dynamic 4-d).
// The class slot and the decoder's start slot get an all-zero row (cos = sin = 0, not the identity), a
// LlamaGen quirk the reference code inherits: q and k are zeroed there in every layer.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "patchzoo/backend/transfer.hpp"
#include "patchzoo/core/error.hpp"
#include "patchzoo/dpar/patcher.hpp"
#include "patchzoo/nn/llama_block.hpp"
#include "patchzoo/nn/rope_table.hpp"

namespace patchzoo::dpar {

namespace detail {

// The table with one all-zero row put in front (the class / start slot).
template <class T>
nn::rope_table<T> with_zero_first_row(const nn::rope_table<T>& body) {
  const std::int64_t rows = body.cos.dim(0), pairs = body.cos.dim(1);
  nn::rope_table<T> t{tensor<T>(shape_t{rows + 1, pairs}), tensor<T>(shape_t{rows + 1, pairs})};
  for (std::int64_t i = 0; i < rows * pairs; ++i) {
    t.cos[pairs + i] = body.cos[i];
    t.sin[pairs + i] = body.sin[i];
  }
  return t;
}

// One block of `count` consecutive pairs, starting at pair `first`, turning with `position` at
// frequencies base^(-k / count), k = 0..count-1.
template <class T>
void fill_pair_block(nn::rope_table<T>& t, std::int64_t row, std::int64_t first, std::int64_t count,
                     std::int64_t position, double base) {
  const std::int64_t pairs = t.cos.dim(1);
  for (std::int64_t k = 0; k < count; ++k) {
    const double angle = static_cast<double>(position) * std::pow(base, -static_cast<double>(k) / count);
    t.cos[row * pairs + first + k] = static_cast<T>(std::cos(angle));
    t.sin[row * pairs + first + k] = static_cast<T>(std::sin(angle));
  }
}

}  // namespace detail

// Row 0 of a token-grid RoPE table: token 0's cell, or an all-zero start slot before the tokens (a decoder
// whose stream is shifted by one: a class or start token first).
enum class grid_rope_start { token_0, zero_slot };

// 2-D RoPE over the cells (t div W, t mod W) of tokens 0..tokens-1: pairs 0..hd/4-1 turn with the row, the
// rest with the column, at 10000^(-k/(hd/4)). With a zero_slot the table has tokens + 1 rows: row 0 is the
// start slot and row j >= 1 is the cell of token j - 1.
template <class T>
nn::rope_table<T> rope_grid_tokens(std::int64_t tokens, int row_width, int head_dim, grid_rope_start start) {
  check(tokens >= 0, "rope_grid_tokens", "tokens ", tokens, " must be non-negative");
  check(row_width >= 1, "rope_grid_tokens", "row_width ", row_width, " must be at least 1");
  check(head_dim > 0 && head_dim % 4 == 0, "rope_grid_tokens", "head_dim ", head_dim,
        " must be a positive multiple of 4");
  std::vector<std::int64_t> rows(static_cast<std::size_t>(tokens)), cols(static_cast<std::size_t>(tokens));
  for (std::int64_t t = 0; t < tokens; ++t) {
    rows[static_cast<std::size_t>(t)] = t / row_width;
    cols[static_cast<std::size_t>(t)] = t % row_width;
  }
  nn::rope_table<T> grid = nn::rope_table_2d<T>(rows, cols, head_dim);
  return start == grid_rope_start::zero_slot ? detail::with_zero_first_row(grid) : std::move(grid);
}

enum class global_position { slot_1d, dynamic_3d, dynamic_4d };

// RoPE rows for the global sequence [class; patch_0 .. patch_{P-1}] (1 + P rows; row 0 = class, all zero).
// For patch p with first token s and last token e = s + l_p - 1: r = s div W, cs = s mod W, ce = e mod W.
//  * slot_1d: patch p (slot p + 1) turns with position p at 10000^(-2k/hd), k < hd/2 -- LlamaGen's 1-D table
//    with the zero class row prepended, so positions restart at 0 after the class slot;
//  * dynamic_3d: [r x hd/4 pairs at 10000^(-k/(hd/4)), cs x hd/8, ce x hd/8 at 10000^(-k/(hd/8))];
//  * dynamic_4d: [r x hd/4, then cs, ce, ce, cs x hd/16 pairs each at 10000^(-k/(hd/16))].
// A zero-length (padding) patch gets e = s - 1, as in the reference code; its row is never read causally.
namespace detail {

// Row `row` of t for a patch at slot_1d position p, or with first token s and last token e (dynamic layouts).
template <class T>
void fill_global_slot(nn::rope_table<T>& t, std::int64_t row, global_position layout, std::int64_t p, std::int64_t s,
                      std::int64_t e, int row_width, int head_dim) {
  if (layout == global_position::slot_1d) {  // as nn::rope_table_1d
    const std::int64_t pairs = head_dim / 2;
    for (std::int64_t k = 0; k < pairs; ++k) {
      const double angle = static_cast<double>(p) * std::pow(10000.0, -2.0 * k / head_dim);
      t.cos[row * pairs + k] = static_cast<T>(std::cos(angle));
      t.sin[row * pairs + k] = static_cast<T>(std::sin(angle));
    }
    return;
  }
  const auto floor_mod = [&](std::int64_t a) { return ((a % row_width) + row_width) % row_width; };
  const std::int64_t r = s / row_width, cs = s % row_width, ce = floor_mod(e), row_pairs = head_dim / 4;
  fill_pair_block(t, row, 0, row_pairs, r, 10000.0);
  if (layout == global_position::dynamic_3d) {
    const std::int64_t col_pairs = head_dim / 8;
    fill_pair_block(t, row, row_pairs, col_pairs, cs, 10000.0);
    fill_pair_block(t, row, row_pairs + col_pairs, col_pairs, ce, 10000.0);
  } else {
    const std::int64_t col_pairs = head_dim / 16;
    const std::int64_t order[4] = {cs, ce, ce, cs};  // the reference code's "redundant" [x, ys, ye, ye, ys]
    for (std::int64_t b = 0; b < 4; ++b) fill_pair_block(t, row, row_pairs + b * col_pairs, col_pairs, order[b], 10000.0);
  }
}

inline void check_global_rope(global_position layout, int row_width, int head_dim) {
  constexpr const char* op = "rope_global_slots";
  check(head_dim > 0 && head_dim % 2 == 0, op, "head_dim ", head_dim, " must be positive and even");
  if (layout == global_position::slot_1d) return;
  check(head_dim % 16 == 0, op, "dynamic RoPE needs head_dim a multiple of 16, got ", head_dim);
  check(row_width >= 1, op, "row_width ", row_width, " must be at least 1");
}

}  // namespace detail

template <class T>
nn::rope_table<T> rope_global_slots(global_position layout, const std::vector<std::int32_t>& lengths, int row_width,
                                    int head_dim) {
  detail::check_global_rope(layout, row_width, head_dim);
  const std::int64_t patches = static_cast<std::int64_t>(lengths.size()), pairs = head_dim / 2;
  const std::vector<std::int32_t> offsets = patch_offsets(lengths);
  nn::rope_table<T> t{tensor<T>(shape_t{patches + 1, pairs}), tensor<T>(shape_t{patches + 1, pairs})};
  for (std::int64_t p = 0; p < patches; ++p)
    detail::fill_global_slot(t, p + 1, layout, p, offsets[static_cast<std::size_t>(p)],
                             offsets[static_cast<std::size_t>(p + 1)] - 1, row_width, head_dim);
  return t;
}

// The last row of rope_global_slots(layout, lengths, ..) alone, [1, head_dim/2]: the slot incremental
// decoding feeds next, in time independent of the number of patches before it.
template <class T>
nn::rope_table<T> rope_global_last_slot(global_position layout, const std::vector<std::int32_t>& lengths, int row_width,
                                        int head_dim) {
  detail::check_global_rope(layout, row_width, head_dim);
  nn::rope_table<T> t{tensor<T>(shape_t{1, head_dim / 2}), tensor<T>(shape_t{1, head_dim / 2})};
  if (lengths.empty()) return t;  // the class slot
  const std::int64_t p = static_cast<std::int64_t>(lengths.size()) - 1;
  std::int64_t s = 0;
  for (std::int64_t i = 0; i < p; ++i) s += lengths[static_cast<std::size_t>(i)];
  detail::fill_global_slot(t, 0, layout, p, s, s + lengths.back() - 1, row_width, head_dim);
  return t;
}

// Where n tokens sit during incremental decoding, in backend memory: RoPE row rows[i] of table for token i,
// and its key range [ranges[2i], ranges[2i+1]) in the KV cache.
template <backend B, real T>
nn::token_layout<B, T> token_layout_at(B& be, const nn::rope_table<T>& table, const std::vector<std::int64_t>& rows,
                                       const std::vector<std::int32_t>& ranges) {
  const std::int64_t n = static_cast<std::int64_t>(rows.size()), pairs = table.cos.dim(1);
  check(static_cast<std::int64_t>(ranges.size()) == 2 * n, "token_layout_at", ranges.size(), " range bounds for ", n,
        " tokens");
  tensor<T> cos(shape_t{n, pairs}), sin(shape_t{n, pairs});
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t r = rows[static_cast<std::size_t>(i)];
    check(r >= 0 && r < table.cos.dim(0), "token_layout_at", "RoPE row ", r, " is outside the table's ", table.cos.dim(0));
    std::copy_n(table.cos.data() + r * pairs, pairs, cos.data() + i * pairs);
    std::copy_n(table.sin.data() + r * pairs, pairs, sin.data() + i * pairs);
  }
  return {upload(be, cos), upload(be, sin), upload(be, tensor<std::int32_t>(shape_t{n, 2}, ranges))};
}

}  // namespace patchzoo::dpar
