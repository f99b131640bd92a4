#pragma once
// DPAR's local encoder: token-level LLaMA blocks over E[x_0..x_{T-2}] (causal over all tokens,
// 2-D RoPE), patch queries initialised in layer 0 as the max-pool of the block's token states over each
// patch (an empty patch -> zeros), then per layer a cross-attention from each patch to its own tokens:
// P <- P + Wo attn(Wq RMSNorm_q(P), Wk RMSNorm_kv(H), Wv RMSNorm_kv(H)), no RoPE, no FFN.
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "patchzoo/nn/llama_block.hpp"
#include "patchzoo/nn/transposed_weights.hpp"

namespace patchzoo::dpar {

struct cross_attention_params {
  std::size_t norm_q, norm_kv, wq, wk, wv, wo;

  static cross_attention_params add_to(nn::param_layout& layout, const std::string& prefix, std::int64_t dim) {
    return {layout.add(prefix + ".norm_q.weight", shape_t{dim}), layout.add(prefix + ".norm_kv.weight", shape_t{dim}),
            layout.add(prefix + ".wq", shape_t{dim, dim}),        layout.add(prefix + ".wk", shape_t{dim, dim}),
            layout.add(prefix + ".wv", shape_t{dim, dim}),        layout.add(prefix + ".wo", shape_t{dim, dim})};
  }
};

// Forward activations and backward scratch of one cross-attention: P patches over N tokens.
template <backend B, real T>
struct cross_attention_state {
  tensor_on<B, T> nq, rstd_q, nkv, rstd_kv, q, k, v, att, lse;
  tensor_on<B, T> dnq, dnkv, dq, dk, dv, datt;

  cross_attention_state() = default;
  cross_attention_state(const nn::block_config& c, std::int64_t p, std::int64_t n)
      : nq(shape_t{p, c.dim}), rstd_q(shape_t{p}), nkv(shape_t{n, c.dim}), rstd_kv(shape_t{n}),
        q(shape_t{p, c.heads, c.head_dim()}), k(shape_t{n, c.heads, c.head_dim()}),
        v(shape_t{n, c.heads, c.head_dim()}), att(shape_t{p, c.heads, c.head_dim()}), lse(shape_t{p, c.heads}),
        dnq(shape_t{p, c.dim}), dnkv(shape_t{n, c.dim}), dq(shape_t{p, c.heads, c.head_dim()}),
        dk(shape_t{n, c.heads, c.head_dim()}), dv(shape_t{n, c.heads, c.head_dim()}),
        datt(shape_t{p, c.heads, c.head_dim()}) {}
};

namespace encoder_detail {

template <class V>
auto rows(V v) {
  return v.reshape(shape_t{v.dim(0), v.dim(1) * v.dim(2)});
}

}  // namespace encoder_detail

// p_out = p_in + Wo attention(q(p_in), k(h), v(h)) with patch p seeing the tokens in ranges[p].
template <backend B, real T>
  requires transformer_ops<B, T>
void cross_attention_forward(B& be, const nn::block_config& c, const nn::param_arena<B, T>& p,
                             const cross_attention_params& ix, const_view<std::int32_t> ranges, const_view<T> p_in,
                             const_view<T> h, tensor_view<T> p_out, cross_attention_state<B, T>& s,
                             nn::transposed_weights<B, T>* transposed = nullptr) {
  using encoder_detail::rows;
  const T scale = static_cast<T>(1.0 / std::sqrt(static_cast<double>(c.head_dim())));
  const T eps = static_cast<T>(c.norm_eps);
  const std::int64_t patches = p_in.dim(0), tokens = h.dim(0);
  rmsnorm_forward(be, s.nq.view(), s.rstd_q.view(), p_in, p[ix.norm_q], eps);
  rmsnorm_forward(be, s.nkv.view(), s.rstd_kv.view(), h, p[ix.norm_kv], eps);
  project(be, rows(s.q.view()), s.nq.cview(), nn::weight_for(be, p, ix.wq, patches, transposed));
  project(be, rows(s.k.view()), s.nkv.cview(), nn::weight_for(be, p, ix.wk, tokens, transposed));
  project(be, rows(s.v.view()), s.nkv.cview(), nn::weight_for(be, p, ix.wv, tokens, transposed));
  attention_forward(be, s.att.view(), s.lse.view(), s.q.cview(), s.k.cview(), s.v.cview(), ranges, scale);
  copy(be, p_out, p_in);
  project(be, p_out, rows(s.att.cview()), nn::weight_for(be, p, ix.wo, patches, transposed), T(1));
}

// Accumulates into dp_in, dh and the parameter gradients.
template <backend B, real T>
  requires transformer_ops<B, T>
void cross_attention_backward(B& be, const nn::block_config& c, const nn::param_arena<B, T>& p,
                              nn::param_arena<B, T>& g, const cross_attention_params& ix,
                              const_view<std::int32_t> ranges, const_view<T> p_in, const_view<T> h,
                              const_view<T> dp_out, tensor_view<T> dp_in, tensor_view<T> dh,
                              cross_attention_state<B, T>& s) {
  using encoder_detail::rows;
  const T scale = static_cast<T>(1.0 / std::sqrt(static_cast<double>(c.head_dim())));
  accumulate(be, dp_in, dp_out, T(1));  // the residual
  fill(be, s.datt.view(), T(0));
  matmul_backward(be, rows(s.datt.view()), g[ix.wo], dp_out, rows(s.att.cview()), p[ix.wo], false, true);
  fill(be, s.dq.view(), T(0));
  fill(be, s.dk.view(), T(0));
  fill(be, s.dv.view(), T(0));
  attention_backward(be, s.dq.view(), s.dk.view(), s.dv.view(), s.datt.cview(), s.q.cview(), s.k.cview(),
                     s.v.cview(), s.att.cview(), s.lse.cview(), ranges, scale);
  fill(be, s.dnq.view(), T(0));
  matmul_backward(be, s.dnq.view(), g[ix.wq], rows(s.dq.cview()), s.nq.cview(), p[ix.wq], false, true);
  rmsnorm_backward(be, dp_in, g[ix.norm_q], s.dnq.cview(), p_in, p[ix.norm_q], s.rstd_q.cview());
  fill(be, s.dnkv.view(), T(0));
  matmul_backward(be, s.dnkv.view(), g[ix.wk], rows(s.dk.cview()), s.nkv.cview(), p[ix.wk], false, true);
  matmul_backward(be, s.dnkv.view(), g[ix.wv], rows(s.dv.cview()), s.nkv.cview(), p[ix.wv], false, true);
  rmsnorm_backward(be, dh, g[ix.norm_kv], s.dnkv.cview(), h, p[ix.norm_kv], s.rstd_kv.cview());
}

// The encoder over a packed batch: N encoder tokens, P patches (both packed over images by the caller's
// ranges and offsets). Owns its activations; the parameters live in the model's arena.
template <backend B, real T>
  requires transformer_ops<B, T>
class local_encoder {
 public:
  local_encoder() = default;
  local_encoder(nn::param_layout& layout, const std::string& prefix, const nn::block_config& c, std::int64_t layers)
      : c_(c) {
    check(layers >= 1, "local_encoder", "needs at least one layer, got ", layers);
    for (std::int64_t l = 0; l < layers; ++l) {
      blocks_.push_back(nn::block_params::add_to(layout, prefix + ".blocks." + std::to_string(l), c));
      cross_.push_back(cross_attention_params::add_to(layout, prefix + ".cross." + std::to_string(l), c.dim));
    }
  }

  std::int64_t layers() const { return static_cast<std::int64_t>(blocks_.size()); }
  const nn::block_params& block(std::int64_t layer) const { return blocks_.at(static_cast<std::size_t>(layer)); }
  const cross_attention_params& cross(std::int64_t layer) const { return cross_.at(static_cast<std::size_t>(layer)); }

  // Sizes the activations for n tokens and np patches; then write the token embeddings into input().
  void prepare(std::int64_t n, std::int64_t np) {
    if (!tokens_.empty() && tokens_[0].dim(0) == n && patches_[0].dim(0) == np) return;
    tokens_.clear();
    patches_.clear();
    acts_.clear();
    cross_acts_.clear();
    for (std::int64_t l = 0; l <= layers(); ++l) {
      tokens_.emplace_back(shape_t{n, c_.dim});
      patches_.emplace_back(shape_t{np, c_.dim});
    }
    for (std::int64_t l = 0; l < layers(); ++l) {
      acts_.emplace_back(c_, n);
      cross_acts_.emplace_back(c_, np, n);
    }
    argmax_ = tensor_on<B, std::int32_t>(shape_t{np, c_.dim});
    scratch_ = nn::block_scratch<B, T>(c_, n);
    for (auto& d : dtokens_) d = tensor_on<B, T>(shape_t{n, c_.dim});
    for (auto& d : dpatches_) d = tensor_on<B, T>(shape_t{np, c_.dim});
  }
  tensor_view<T> input() { return tokens_[0].view(); }

  // where: the tokens' RoPE and causal ranges; pool_offsets[P+1]: each patch's token span, also given as
  // patch_ranges[P, 2] for the cross-attention.
  void forward(B& be, const nn::param_arena<B, T>& p, const nn::token_layout<B, T>& where,
               const_view<std::int32_t> pool_offsets, const_view<std::int32_t> patch_ranges) {
    for (std::int64_t l = 0; l < layers(); ++l) {
      nn::block_forward(be, c_, p, blocks_[l], where, tokens_[l].cview(), tokens_[l + 1].view(), acts_[l]);
      if (l == 0) segment_maxpool_forward(be, patches_[0].view(), argmax_.view(), tokens_[1].cview(), pool_offsets);
      cross_attention_forward(be, c_, p, cross_[l], patch_ranges, patches_[l].cview(), tokens_[l + 1].cview(),
                              patches_[l + 1].view(), cross_acts_[l]);
    }
  }

  const_view<T> token_states() const { return tokens_.back().cview(); }   // H_enc
  const_view<T> pooled_patches() const { return patches_[0].cview(); }    // the max-pool init
  const_view<T> patch_embeddings() const { return patches_.back().cview(); }

  // Gradients w.r.t. the token states and patch embeddings in; returns the gradient w.r.t. input()
  // (valid until the next call) and accumulates the parameter gradients.
  const_view<T> backward(B& be, const nn::param_arena<B, T>& p, nn::param_arena<B, T>& g,
                         const nn::token_layout<B, T>& where, const_view<std::int32_t> patch_ranges,
                         const_view<T> d_token_states, const_view<T> d_patches) {
    auto* dh = &dtokens_[0];
    auto* dh_prev = &dtokens_[1];
    auto* dp = &dpatches_[0];
    auto* dp_prev = &dpatches_[1];
    copy(be, dh->view(), d_token_states);
    copy(be, dp->view(), d_patches);
    for (std::int64_t l = layers() - 1; l >= 0; --l) {
      fill(be, dp_prev->view(), T(0));
      cross_attention_backward(be, c_, p, g, cross_[l], patch_ranges, patches_[l].cview(), tokens_[l + 1].cview(),
                               dp->cview(), dp_prev->view(), dh->view(), cross_acts_[l]);
      std::swap(dp, dp_prev);
      if (l == 0) segment_maxpool_backward(be, dh->view(), dp->cview(), argmax_.cview());
      fill(be, dh_prev->view(), T(0));
      nn::block_backward(be, c_, p, g, blocks_[l], where, tokens_[l].cview(), dh->cview(), dh_prev->view(), acts_[l],
                         scratch_);
      std::swap(dh, dh_prev);
    }
    return dh->cview();
  }

 private:
  nn::block_config c_{};
  std::vector<nn::block_params> blocks_;
  std::vector<cross_attention_params> cross_;

  std::vector<tensor_on<B, T>> tokens_;   // token stream before each block and after the last (= H_enc)
  std::vector<tensor_on<B, T>> patches_;  // [0] the max-pool init, [l + 1] after layer l's cross-attention
  std::vector<nn::block_activations<B, T>> acts_;
  std::vector<cross_attention_state<B, T>> cross_acts_;
  tensor_on<B, std::int32_t> argmax_;
  nn::block_scratch<B, T> scratch_;
  tensor_on<B, T> dtokens_[2], dpatches_[2];
};

}  // namespace patchzoo::dpar
