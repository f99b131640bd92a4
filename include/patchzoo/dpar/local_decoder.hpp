#pragma once
// DPAR's local decoder (arXiv 2512.21867): per image the stream [s ; H_enc(x_0..x_{T-2})] (T positions,
// position j predicts x_j), then per layer h_j += W RMSNorm(G[pi(j)]) - the global state of the slot
// before token j's patch, "single-key cross-attention" - and a causal LLaMA block over all positions;
// then RMSNorm and the head. The copy is a gather of global rows (embedding_forward with G as the table),
// so its backward is the matching scatter-add (embedding_backward).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "patchzoo/nn/llama_block.hpp"

namespace patchzoo::dpar {

template <backend B, real T>
  requires transformer_ops<B, T>
class local_decoder {
 public:
  local_decoder() = default;
  local_decoder(nn::param_layout& layout, const std::string& prefix, const nn::block_config& c, std::int64_t layers,
                std::int64_t vocab)
      : c_(c), vocab_(vocab) {
    check(layers >= 1, "local_decoder", "needs at least one layer, got ", layers);
    start_ = layout.add(prefix + ".start", shape_t{1, c.dim});  // a matrix row, so it is drawn like one
    for (std::int64_t l = 0; l < layers; ++l) {
      const std::string at = prefix + ".layers." + std::to_string(l);
      copy_norm_.push_back(layout.add(at + ".copy_norm.weight", shape_t{c.dim}));
      copy_w_.push_back(layout.add(at + ".copy", shape_t{c.dim, c.dim}));
      blocks_.push_back(nn::block_params::add_to(layout, at + ".block", c));
    }
    final_norm_ = layout.add(prefix + ".final_norm.weight", shape_t{c.dim});
    head_ = layout.add(prefix + ".head", shape_t{vocab, c.dim});
  }

  std::int64_t layers() const { return static_cast<std::int64_t>(blocks_.size()); }
  std::size_t head_index() const { return head_; }
  // Parameter slices, for incremental decoding (dpar_incremental_decoder).
  std::size_t start_index() const { return start_; }
  std::size_t final_norm_index() const { return final_norm_; }
  std::size_t copy_norm_index(std::int64_t layer) const { return copy_norm_.at(static_cast<std::size_t>(layer)); }
  std::size_t copy_index(std::int64_t layer) const { return copy_w_.at(static_cast<std::size_t>(layer)); }
  const nn::block_params& block(std::int64_t layer) const { return blocks_.at(static_cast<std::size_t>(layer)); }

  // Sizes the activations for n positions (images x T) and s global slots.
  void prepare(std::int64_t n, std::int64_t s) {
    if (!before_copy_.empty() && before_copy_[0].dim(0) == n && copy_normed_[0].dim(0) == s) return;
    before_copy_.clear();
    after_copy_.clear();
    copy_normed_.clear();
    copy_rstd_.clear();
    copy_out_.clear();
    acts_.clear();
    for (std::int64_t l = 0; l <= layers(); ++l) before_copy_.emplace_back(shape_t{n, c_.dim});
    for (std::int64_t l = 0; l < layers(); ++l) {
      after_copy_.emplace_back(shape_t{n, c_.dim});
      copy_normed_.emplace_back(shape_t{s, c_.dim});
      copy_rstd_.emplace_back(shape_t{s});
      copy_out_.emplace_back(shape_t{s, c_.dim});
      acts_.emplace_back(c_, n);
    }
    gathered_ = tensor_on<B, T>(shape_t{n, c_.dim});
    scratch_ = nn::block_scratch<B, T>(c_, n);
    for (auto& d : dstream_) d = tensor_on<B, T>(shape_t{n, c_.dim});
    dcopy_out_ = tensor_on<B, T>(shape_t{s, c_.dim});
    dcopy_normed_ = tensor_on<B, T>(shape_t{s, c_.dim});
    final_out_ = tensor_on<B, T>(shape_t{n, c_.dim});
    final_rstd_ = tensor_on<B, T>(shape_t{n});
    dnorm_ = tensor_on<B, T>(shape_t{n, c_.dim});
    logits_ = tensor_on<B, T>(shape_t{n, vocab_});
  }

  // enc_tokens: H_enc, images x (T-1) rows; global_out: G, one row per global slot; token_slots[n]: the
  // global row each position reads; where: RoPE (zero start row) and causal ranges over each image's T.
  void forward(B& be, const nn::param_arena<B, T>& p, const nn::token_layout<B, T>& where, const_view<T> enc_tokens,
               const_view<T> global_out, const_view<std::int32_t> token_slots, std::int64_t tokens_per_image) {
    const std::int64_t images = before_copy_[0].dim(0) / tokens_per_image, inputs = tokens_per_image - 1;
    auto stream = before_copy_[0].view();
    for (std::int64_t i = 0; i < images; ++i) {
      const std::int64_t row = i * tokens_per_image;
      copy(be, stream.slice_rows(row, row + 1), p[start_]);
      copy(be, stream.slice_rows(row + 1, row + tokens_per_image), enc_tokens.slice_rows(i * inputs, (i + 1) * inputs));
    }
    for (std::int64_t l = 0; l < layers(); ++l) {
      rmsnorm_forward(be, copy_normed_[l].view(), copy_rstd_[l].view(), global_out, p[copy_norm_[l]],
                      static_cast<T>(c_.norm_eps));
      matmul(be, copy_out_[l].view(), copy_normed_[l].cview(), p[copy_w_[l]], false, true, T(1), T(0));
      embedding_forward(be, gathered_.view(), token_slots, copy_out_[l].cview());
      add(be, after_copy_[l].view(), before_copy_[l].cview(), gathered_.cview());
      nn::block_forward(be, c_, p, blocks_[l], where, after_copy_[l].cview(), before_copy_[l + 1].view(), acts_[l]);
    }
    rmsnorm_forward(be, final_out_.view(), final_rstd_.view(), before_copy_[layers()].cview(), p[final_norm_],
                    static_cast<T>(c_.norm_eps));
    matmul(be, logits_.view(), final_out_.cview(), p[head_], false, true, T(1), T(0));
  }

  tensor_view<T> logits() { return logits_.view(); }
  const_view<T> logits() const { return logits_.cview(); }

  // dlogits in; accumulates into d_enc_tokens, d_global_out and the parameter gradients.
  void backward(B& be, const nn::param_arena<B, T>& p, nn::param_arena<B, T>& g, const nn::token_layout<B, T>& where,
                const_view<T> global_out, const_view<std::int32_t> token_slots, std::int64_t tokens_per_image,
                const_view<T> dlogits, tensor_view<T> d_enc_tokens, tensor_view<T> d_global_out) {
    fill(be, dnorm_.view(), T(0));
    matmul_backward(be, dnorm_.view(), g[head_], dlogits, final_out_.cview(), p[head_], false, true);
    auto* dy = &dstream_[0];
    auto* dx = &dstream_[1];
    fill(be, dy->view(), T(0));
    rmsnorm_backward(be, dy->view(), g[final_norm_], dnorm_.cview(), before_copy_[layers()].cview(), p[final_norm_],
                     final_rstd_.cview());
    for (std::int64_t l = layers() - 1; l >= 0; --l) {
      fill(be, dx->view(), T(0));
      nn::block_backward(be, c_, p, g, blocks_[l], where, after_copy_[l].cview(), dy->cview(), dx->view(), acts_[l],
                         scratch_);
      std::swap(dy, dx);  // d(after copy) = d(before copy): the copy is a residual add
      fill(be, dcopy_out_.view(), T(0));
      embedding_backward(be, dcopy_out_.view(), dy->cview(), token_slots);
      fill(be, dcopy_normed_.view(), T(0));
      matmul_backward(be, dcopy_normed_.view(), g[copy_w_[l]], dcopy_out_.cview(), copy_normed_[l].cview(),
                      p[copy_w_[l]], false, true);
      rmsnorm_backward(be, d_global_out, g[copy_norm_[l]], dcopy_normed_.cview(), global_out, p[copy_norm_[l]],
                       copy_rstd_[l].cview());
    }
    const std::int64_t images = dy->dim(0) / tokens_per_image, inputs = tokens_per_image - 1;
    for (std::int64_t i = 0; i < images; ++i) {
      const std::int64_t row = i * tokens_per_image;
      accumulate(be, g[start_], dy->cview().slice_rows(row, row + 1), T(1));
      accumulate(be, d_enc_tokens.slice_rows(i * inputs, (i + 1) * inputs),
                 dy->cview().slice_rows(row + 1, row + tokens_per_image), T(1));
    }
  }

 private:
  nn::block_config c_{};
  std::int64_t vocab_ = 0;
  std::size_t start_ = 0, final_norm_ = 0, head_ = 0;
  std::vector<std::size_t> copy_norm_, copy_w_;
  std::vector<nn::block_params> blocks_;

  std::vector<tensor_on<B, T>> before_copy_;  // stream entering each layer, and after the last
  std::vector<tensor_on<B, T>> after_copy_;   // stream entering each layer's block
  std::vector<tensor_on<B, T>> copy_normed_, copy_rstd_, copy_out_;  // per layer, over the global slots
  std::vector<nn::block_activations<B, T>> acts_;
  nn::block_scratch<B, T> scratch_;
  tensor_on<B, T> gathered_, dstream_[2], dcopy_out_, dcopy_normed_, final_out_, final_rstd_, dnorm_, logits_;
};

}  // namespace patchzoo::dpar
