#pragma once
// Decoder-only autoregressive transformer (LLaMA style, as in LlamaGen): token embedding, N pre-norm
// blocks with 1-D RoPE, final RMSNorm and an untied head. Trains on packed batches of variable-length
// sequences (no padding) and decodes incrementally through a KV cache.
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "patchzoo/backend/transfer.hpp"
#include "patchzoo/nn/init.hpp"
#include "patchzoo/nn/llama_block.hpp"
#include "patchzoo/nn/lm_head.hpp"
#include "patchzoo/nn/rope_table.hpp"
#include "patchzoo/nn/token_batch.hpp"
#include "patchzoo/ops/attention_ranges.hpp"

namespace patchzoo::nn {

struct transformer_config {
  std::int64_t vocab = 1024;
  std::int64_t layers = 4;
  std::int64_t max_seq = 256;
  block_config block{};
  double rope_base = 10000.0;
  double init_std = 0.02;
};

template <backend B, real T>
  requires transformer_ops<B, T>
class transformer {
 public:
  transformer(const transformer_config& cfg, std::uint64_t seed) : cfg_(cfg) {
    check(cfg.vocab > 0 && cfg.layers > 0 && cfg.max_seq > 0, "transformer", "vocab ", cfg.vocab, ", layers ",
          cfg.layers, " and max_seq ", cfg.max_seq, " must be positive");
    tok_emb_ = layout_.add("tok_emb", shape_t{cfg.vocab, cfg.block.dim});
    for (std::int64_t l = 0; l < cfg.layers; ++l)
      blocks_.push_back(block_params::add_to(layout_, "blocks." + std::to_string(l), cfg.block));
    final_norm_ = layout_.add("final_norm.weight", shape_t{cfg.block.dim});
    head_ = layout_.add("head", shape_t{cfg.vocab, cfg.block.dim});
    params_ = param_arena<B, T>(layout_);
    grads_ = param_arena<B, T>(layout_);
    initialize_params(params_, seed, cfg.init_std);
  }

  const transformer_config& config() const { return cfg_; }
  const param_layout& layout() const { return layout_; }
  param_arena<B, T>& params() { return params_; }
  const param_arena<B, T>& params() const { return params_; }
  param_arena<B, T>& grads() { return grads_; }

  // Forward pass over a packed batch; keeps activations for backward(). Returns the mean cross-entropy
  // over targets that are not ignore_index.
  double forward(B& be, const token_batch& batch) {
    batch.validate(cfg_.vocab, cfg_.max_seq);
    const std::int64_t n = batch.tokens();
    prepare(n);
    ids_ = upload(be, batch.inputs);
    targets_ = upload(be, batch.targets);
    // Training batches of one shape repeat their offsets: keep the RoPE tables and ranges (a cos and a
    // sin per token and frequency are about 1% of a step).
    if (batch.offsets != where_offsets_) {
      where_ = make_token_layout(be, batch.positions(), causal_ranges(batch.offsets));
      where_offsets_ = batch.offsets;
    }

    embedding_forward(be, stream_[0].view(), ids_.cview(), std::as_const(params_)[tok_emb_]);
    for (std::int64_t l = 0; l < cfg_.layers; ++l)
      block_forward(be, cfg_.block, params_, blocks_[l], where_, stream_[l].cview(), stream_[l + 1].view(), acts_[l]);
    head_forward(be, stream_[cfg_.layers].cview());
    auto& h = head_buffers_;
    count_ = cross_entropy_forward(be, h.losses.view(), h.probs.view(), h.logits.cview(), targets_.cview(),
                                   token_batch::ignore_index);
    check(count_ > 0, "transformer::forward", "the batch has no target that is not ignore_index");
    const double loss = sum(be, h.losses.cview()) / static_cast<double>(count_);
    check(std::isfinite(loss), "transformer::forward", "loss is not finite (", loss, ")");
    return loss;
  }

  // Accumulates d(mean loss)/d(params) into grads(); call after forward().
  void backward(B& be) {
    check(count_ > 0, "transformer::backward", "no forward pass to differentiate");
    const auto& p = std::as_const(params_);
    auto* dy = &dstream_[0];
    auto* dx = &dstream_[1];
    lm_head_backward(be, head_buffers_, targets_.cview(), token_batch::ignore_index, count_,
                     stream_[cfg_.layers].cview(), p[final_norm_], p[head_], grads_[final_norm_], grads_[head_],
                     dy->view());
    for (std::int64_t l = cfg_.layers - 1; l >= 0; --l) {
      fill(be, dx->view(), T(0));
      block_backward(be, cfg_.block, params_, grads_, blocks_[l], where_, stream_[l].cview(), dy->cview(),
                     dx->view(), acts_[l], scratch_);
      std::swap(dy, dx);
    }
    embedding_backward(be, grads_[tok_emb_], dy->cview(), ids_.cview());
  }

  // Incremental decoding state: one KV cache per block.
  struct decode_state {
    std::vector<block_kv_cache<B, T>> caches;
    std::int64_t length() const { return caches.empty() ? 0 : caches[0].length; }
  };

  decode_state start_decoding(std::int64_t max_tokens) const {
    check(max_tokens >= 1 && max_tokens <= cfg_.max_seq, "transformer::start_decoding", "max_tokens ", max_tokens,
          " is outside [1, ", cfg_.max_seq, "]");
    decode_state s;
    for (std::int64_t l = 0; l < cfg_.layers; ++l) s.caches.emplace_back(cfg_.block, max_tokens);
    return s;
  }

  // Feeds the next tokens of one sequence (a prompt chunk or one sampled token) and returns their
  // next-token logits [tokens, vocab] on the host.
  tensor<T> decode(B& be, decode_state& state, const std::vector<std::int32_t>& tokens) {
    const std::int64_t n = static_cast<std::int64_t>(tokens.size()), start = state.length();
    check(n > 0, "transformer::decode", "no tokens to feed");
    token_batch step{tensor<std::int32_t>(shape_t{n}, tokens), tensor<std::int32_t>(shape_t{n}), {0, static_cast<std::int32_t>(n)}};
    step.validate(cfg_.vocab, state.caches[0].k.dim(0) - start);
    prepare(n);
    ids_ = upload(be, step.inputs);
    std::vector<std::int64_t> positions(n);
    tensor<std::int32_t> ranges(shape_t{n, 2});
    for (std::int64_t i = 0; i < n; ++i) {
      positions[i] = start + i;
      ranges[2 * i] = 0;
      ranges[2 * i + 1] = static_cast<std::int32_t>(start + i + 1);
    }
    where_ = make_token_layout(be, positions, ranges);
    where_offsets_.clear();
    embedding_forward(be, stream_[0].view(), ids_.cview(), std::as_const(params_)[tok_emb_]);
    for (std::int64_t l = 0; l < cfg_.layers; ++l)
      block_forward(be, cfg_.block, params_, blocks_[l], where_, stream_[l].cview(), stream_[l + 1].view(), acts_[l],
                    &state.caches[l]);
    head_forward(be, stream_[cfg_.layers].cview());
    count_ = 0;  // decoding keeps no state for backward()
    return download(be, head_buffers_.logits.cview());
  }

  // Logits of the last forward pass, [tokens, vocab], on the host.
  tensor<T> logits(B& be) const { return download(be, head_buffers_.logits.cview()); }

 private:
  void prepare(std::int64_t n) {
    if (!stream_.empty() && stream_[0].dim(0) == n) return;
    const auto& c = cfg_.block;
    stream_.clear();
    acts_.clear();
    for (std::int64_t l = 0; l <= cfg_.layers; ++l) stream_.emplace_back(shape_t{n, c.dim});
    for (std::int64_t l = 0; l < cfg_.layers; ++l) acts_.emplace_back(c, n);
    scratch_ = block_scratch<B, T>(c, n);
    dstream_[0] = tensor_on<B, T>(shape_t{n, c.dim});
    dstream_[1] = tensor_on<B, T>(shape_t{n, c.dim});
    head_buffers_ = lm_head_buffers<B, T>(n, c.dim, cfg_.vocab);
  }

  void head_forward(B& be, const_view<T> x) {
    lm_head_forward(be, head_buffers_, x, std::as_const(params_)[final_norm_], std::as_const(params_)[head_],
                    cfg_.block.norm_eps);
  }

  token_layout<B, T> make_token_layout(B& be, const std::vector<std::int64_t>& positions,
                                       const tensor<std::int32_t>& kv_range) const {
    auto table = rope_table_1d<T>(positions, static_cast<int>(cfg_.block.head_dim()), cfg_.rope_base);
    return {upload(be, table.cos), upload(be, table.sin), upload(be, kv_range)};
  }

  transformer_config cfg_;
  param_layout layout_;
  std::size_t tok_emb_ = 0, final_norm_ = 0, head_ = 0;
  std::vector<block_params> blocks_;
  param_arena<B, T> params_, grads_;

  std::vector<tensor_on<B, T>> stream_;  // residual stream before each block, and after the last
  std::vector<block_activations<B, T>> acts_;
  block_scratch<B, T> scratch_;
  tensor_on<B, T> dstream_[2];
  lm_head_buffers<B, T> head_buffers_;
  tensor_on<B, std::int32_t> ids_, targets_;
  token_layout<B, T> where_;
  std::vector<std::int32_t> where_offsets_;  // the offsets where_ was built for by forward(); empty if not
  std::int64_t count_ = 0;
};

}  // namespace patchzoo::nn
