#pragma once
// Pre-norm LLaMA block over packed tokens: x -> h = x + Wo attn(rope(q), rope(k), v) of RMSNorm(x)
// -> y = h + W2 (silu(W1 n) * W3 n) with n = RMSNorm(h). No biases. Attention visibility comes in as
// per-query key ranges, so the same block serves packed causal training, KV-cached decoding and
// DPAR's local and global transformers.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "patchzoo/backend/concepts.hpp"
#include "patchzoo/nn/param_arena.hpp"
#include "patchzoo/nn/transposed_weights.hpp"
#include "patchzoo/ops/linear.hpp"

namespace patchzoo::nn {

struct block_config {
  std::int64_t dim = 256;
  std::int64_t heads = 4;
  std::int64_t ffn_hidden = 768;
  float norm_eps = 1e-5f;
  std::int64_t head_dim() const { return dim / heads; }
};

// Residual dropout on the attention projection and on the FFN output (LlamaGen's resid / ffn dropout),
// training only; p = 0 is the plain block. Masks come from the dropout op's counter RNG, one stream per
// branch, so forward and backward redraw the same mask without storing it.
struct block_dropout {
  float p = 0.0f;
  std::uint64_t seed = 0;

  bool active() const { return p > 0.0f; }
  std::uint64_t attention_seed() const { return 2 * seed; }
  std::uint64_t ffn_seed() const { return 2 * seed + 1; }
};

// Indices of one block's parameters in the model's param_layout.
struct block_params {
  std::size_t attn_norm, wqkv, wo, ffn_norm, w1, w3, w2;

  static block_params add_to(param_layout& layout, const std::string& prefix, const block_config& c) {
    check(c.dim % c.heads == 0, "llama_block", "dim ", c.dim, " is not divisible by heads ", c.heads);
    return {layout.add(prefix + ".attn_norm.weight", shape_t{c.dim}),
            layout.add(prefix + ".attn.wqkv", shape_t{3 * c.dim, c.dim}),
            layout.add(prefix + ".attn.wo", shape_t{c.dim, c.dim}),
            layout.add(prefix + ".ffn_norm.weight", shape_t{c.dim}),
            layout.add(prefix + ".ffn.w1", shape_t{c.ffn_hidden, c.dim}),
            layout.add(prefix + ".ffn.w3", shape_t{c.ffn_hidden, c.dim}),
            layout.add(prefix + ".ffn.w2", shape_t{c.dim, c.ffn_hidden})};
  }
};

// What the forward pass keeps for the backward pass, for N packed tokens.
template <backend B, real T>
struct block_activations {
  tensor_on<B, T> n1, rstd1, qkv, att, lse, h, n2, rstd2, gate, up, act;
  tensor_on<B, T> branch, dropped;  // a residual branch before / after dropout; allocated when dropout runs

  block_activations() = default;
  block_activations(const block_config& c, std::int64_t n)
      : n1(shape_t{n, c.dim}), rstd1(shape_t{n}), qkv(shape_t{n, 3 * c.dim}),
        att(shape_t{n, c.heads, c.head_dim()}), lse(shape_t{n, c.heads}), h(shape_t{n, c.dim}),
        n2(shape_t{n, c.dim}), rstd2(shape_t{n}), gate(shape_t{n, c.ffn_hidden}), up(shape_t{n, c.ffn_hidden}),
        act(shape_t{n, c.ffn_hidden}) {}
  std::int64_t tokens() const { return h.empty() ? 0 : h.dim(0); }
};

// Scratch gradients for N tokens, shared by all blocks of a model (backward runs one block at a time).
template <backend B, real T>
struct block_scratch {
  tensor_on<B, T> dh, dn, dqkv, datt, dgate, dup, dact;
  tensor_on<B, T> dbranch;  // gradient of a residual branch under dropout; allocated when needed

  block_scratch() = default;
  block_scratch(const block_config& c, std::int64_t n)
      : dh(shape_t{n, c.dim}), dn(shape_t{n, c.dim}), dqkv(shape_t{n, 3 * c.dim}),
        datt(shape_t{n, c.heads, c.head_dim()}), dgate(shape_t{n, c.ffn_hidden}), dup(shape_t{n, c.ffn_hidden}),
        dact(shape_t{n, c.ffn_hidden}) {}
};

// Views of q, k, v inside the fused [N, 3*dim] projection: [N, heads, head_dim] with row stride 3*dim.
template <class V>
tensor_view<V> qkv_part(tensor_view<V> qkv, const block_config& c, int part) {
  const std::int64_t n = qkv.dim(0);
  return tensor_view<V>(qkv.data + part * c.dim, shape_t{n, c.heads, c.head_dim()},
                        {3 * c.dim, c.head_dim(), 1, 0});
}

// Everything about where tokens sit: RoPE tables and attention key ranges, in backend memory.
template <backend B, real T>
struct token_layout {
  tensor_on<B, T> rope_cos, rope_sin;        // [N, head_dim/2]
  tensor_on<B, std::int32_t> kv_range;       // [N, 2]
};

// Keys and values of earlier tokens for incremental decoding: [max_tokens, heads, head_dim] per block.
// One sequence fills the rows front to back (length). Many sequences can share one cache, each owning a
// block of rows: then the caller names the row of every new token in write_rows, and where.kv_range
// indexes the whole cache.
template <backend B, real T>
struct block_kv_cache {
  tensor_on<B, T> k, v;
  std::int64_t length = 0;
  std::vector<std::int64_t> write_rows;

  block_kv_cache() = default;
  block_kv_cache(const block_config& c, std::int64_t max_tokens)
      : k(shape_t{max_tokens, c.heads, c.head_dim()}), v(shape_t{max_tokens, c.heads, c.head_dim()}) {}
};

// With a cache, the new tokens' keys and values are appended to it and the queries attend over the whole
// cache (where.kv_range indexes cache rows); without one, attention runs over the tokens themselves.
// Decoding passes its transposed copies of the weights (`transposed`), used where the backend prefers them.
template <backend B, real T>
  requires transformer_ops<B, T>
void block_forward(B& be, const block_config& c, const param_arena<B, T>& p, const block_params& ix,
                   const token_layout<B, T>& where, const_view<T> x, tensor_view<T> y,
                   block_activations<B, T>& a, block_kv_cache<B, T>* cache = nullptr, block_dropout drop = {},
                   transposed_weights<B, T>* transposed = nullptr) {
  const T scale = static_cast<T>(1.0 / std::sqrt(static_cast<double>(c.head_dim())));
  const std::int64_t n = x.dim(0);
  const auto weight = [&](std::size_t w) { return weight_for(be, p, w, n, transposed); };
  rmsnorm_forward(be, a.n1.view(), a.rstd1.view(), x, p[ix.attn_norm], static_cast<T>(c.norm_eps));
  project(be, a.qkv.view(), a.n1.cview(), weight(ix.wqkv));
  auto q = qkv_part(a.qkv.view(), c, 0), k = qkv_part(a.qkv.view(), c, 1), v = qkv_part(a.qkv.view(), c, 2);
  rope_forward(be, q, where.rope_cos.cview(), where.rope_sin.cview());
  rope_forward(be, k, where.rope_cos.cview(), where.rope_sin.cview());
  const_view<T> keys = k, values = v;
  if (cache) {
    const std::int64_t start = cache->length, row = c.dim, capacity = cache->k.dim(0);
    const bool shared = !cache->write_rows.empty();
    check(!shared || static_cast<std::int64_t>(cache->write_rows.size()) == n, "block_forward", "KV cache told ",
          cache->write_rows.size(), " rows to write for ", n, " tokens");
    check(shared || start + n <= capacity, "block_forward", "KV cache of ", capacity, " tokens cannot take ", n,
          " more after ", start);
    for (std::int64_t i = 0; i < n; ++i) {
      const std::int64_t dst = shared ? cache->write_rows[static_cast<std::size_t>(i)] : start + i;
      check(dst >= 0 && dst < capacity, "block_forward", "KV cache row ", dst, " is outside [0, ", capacity, ")");
      copy(be, tensor_view<T>(cache->k.data() + dst * row, shape_t{row}),
           const_view<T>(a.qkv.data() + i * 3 * row + row, shape_t{row}));
      copy(be, tensor_view<T>(cache->v.data() + dst * row, shape_t{row}),
           const_view<T>(a.qkv.data() + i * 3 * row + 2 * row, shape_t{row}));
    }
    if (!shared) cache->length = start + n;
    const std::int64_t visible = shared ? capacity : cache->length;
    keys = cache->k.cview().slice_rows(0, visible);
    values = cache->v.cview().slice_rows(0, visible);
  }
  attention_forward(be, a.att.view(), a.lse.view(), const_view<T>(q), keys, values, where.kv_range.cview(), scale);
  if (drop.active() && (a.branch.empty() || a.branch.dim(0) != n)) {
    a.branch = tensor_on<B, T>(shape_t{n, c.dim});
    a.dropped = tensor_on<B, T>(shape_t{n, c.dim});
  }
  const auto residual_add = [&](tensor_view<T> out, const_view<T> base, const_view<T> in, std::size_t w,
                                std::uint64_t seed) {
    if (!drop.active()) {
      copy(be, out, base);
      project(be, out, in, weight(w), T(1));
      return;
    }
    project(be, a.branch.view(), in, weight(w));
    dropout_forward(be, a.dropped.view(), a.branch.cview(), drop.p, seed);
    add(be, out, base, a.dropped.cview());
  };
  residual_add(a.h.view(), x, a.att.cview().reshape(shape_t{n, c.dim}), ix.wo, drop.attention_seed());

  rmsnorm_forward(be, a.n2.view(), a.rstd2.view(), a.h.cview(), p[ix.ffn_norm], static_cast<T>(c.norm_eps));
  project(be, a.gate.view(), a.n2.cview(), weight(ix.w1));
  project(be, a.up.view(), a.n2.cview(), weight(ix.w3));
  swiglu_forward(be, a.act.view(), a.gate.cview(), a.up.cview());
  residual_add(y, a.h.cview(), a.act.cview(), ix.w2, drop.ffn_seed());
}

// Accumulates into dx (+=) and into the block's parameter gradients.
template <backend B, real T>
  requires transformer_ops<B, T>
void block_backward(B& be, const block_config& c, const param_arena<B, T>& p, param_arena<B, T>& g,
                    const block_params& ix, const token_layout<B, T>& where, const_view<T> x, const_view<T> dy,
                    tensor_view<T> dx, const block_activations<B, T>& a, block_scratch<B, T>& s,
                    block_dropout drop = {}) {
  const T scale = static_cast<T>(1.0 / std::sqrt(static_cast<double>(c.head_dim())));
  const std::int64_t n = x.dim(0);
  auto dh = s.dh.view(), dn = s.dn.view(), dqkv = s.dqkv.view(), datt = s.datt.view();
  auto dgate = s.dgate.view(), dup = s.dup.view(), dact = s.dact.view();
  if (drop.active() && (s.dbranch.empty() || s.dbranch.dim(0) != n)) s.dbranch = tensor_on<B, T>(shape_t{n, c.dim});
  // Gradient reaching a residual branch: dout itself, or dout through the branch's dropout mask.
  const auto branch_grad = [&](const_view<T> dout, std::uint64_t seed) -> const_view<T> {
    if (!drop.active()) return dout;
    fill(be, s.dbranch.view(), T(0));
    dropout_backward(be, s.dbranch.view(), dout, drop.p, seed);
    return s.dbranch.cview();
  };

  // Feed-forward half: y = h + W2 act, act = swiglu(W1 n2, W3 n2), n2 = rmsnorm(h).
  constexpr auto over = gradient_write::overwrite;
  copy(be, dh, dy);
  matmul_backward(be, dact, g[ix.w2], branch_grad(dy, drop.ffn_seed()), a.act.cview(), p[ix.w2], false, true, over);
  fill(be, dgate, T(0));
  fill(be, dup, T(0));
  swiglu_backward(be, dgate, dup, const_view<T>(dact), a.gate.cview(), a.up.cview());
  matmul_backward(be, dn, g[ix.w1], const_view<T>(dgate), a.n2.cview(), p[ix.w1], false, true, over);
  matmul_backward(be, dn, g[ix.w3], const_view<T>(dup), a.n2.cview(), p[ix.w3], false, true);
  rmsnorm_backward(be, dh, g[ix.ffn_norm], const_view<T>(dn), a.h.cview(), p[ix.ffn_norm], a.rstd2.cview());

  // Attention half: h = x + Wo att, att = attention(rope(q), rope(k), v), qkv = Wqkv rmsnorm(x).
  auto datt_rows = datt.reshape(shape_t{n, c.dim});
  matmul_backward(be, datt_rows, g[ix.wo], branch_grad(const_view<T>(dh), drop.attention_seed()),
                  a.att.cview().reshape(shape_t{n, c.dim}), p[ix.wo], false, true, over);
  fill(be, dqkv, T(0));
  auto dq = qkv_part(dqkv, c, 0), dk = qkv_part(dqkv, c, 1), dv = qkv_part(dqkv, c, 2);
  attention_backward(be, dq, dk, dv, s.datt.cview(), qkv_part(a.qkv.cview(), c, 0), qkv_part(a.qkv.cview(), c, 1),
                     qkv_part(a.qkv.cview(), c, 2), a.att.cview(), a.lse.cview(), where.kv_range.cview(), scale);
  rope_backward(be, dq, where.rope_cos.cview(), where.rope_sin.cview());
  rope_backward(be, dk, where.rope_cos.cview(), where.rope_sin.cview());
  matmul_backward(be, dn, g[ix.wqkv], const_view<T>(dqkv), a.n1.cview(), p[ix.wqkv], false, true, over);
  rmsnorm_backward(be, dx, g[ix.attn_norm], const_view<T>(dn), x, p[ix.attn_norm], a.rstd1.cview());
  accumulate(be, dx, const_view<T>(dh), T(1));
}

}  // namespace patchzoo::nn
