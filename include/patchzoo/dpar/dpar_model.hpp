#pragma once
// DPAR (arXiv 2512.21867): LlamaGen's layers split into a token-level local encoder, a global transformer
// over [class ; patch_0 .. patch_{P-1}] per image, and a token-level local decoder that gives logits for all
// T tokens. Images of a batch have different patch counts; every stage is packed (no padding), so the
// global part costs what the patches cost. Loss: mean cross-entropy over all B x T tokens.
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "patchzoo/backend/transfer.hpp"
#include "patchzoo/dpar/dpar_batch.hpp"
#include "patchzoo/dpar/local_decoder.hpp"
#include "patchzoo/dpar/local_encoder.hpp"
#include "patchzoo/dpar/rope_layouts.hpp"
#include "patchzoo/nn/init.hpp"
#include "patchzoo/ops/attention_ranges.hpp"

namespace patchzoo::dpar {

struct dpar_config {
  std::int64_t vocab = 16384;
  std::int64_t classes = 1000;  // the class table has classes + 1 rows; the last is the CFG null class
  std::int64_t tokens = 256;    // T per image
  std::int64_t row_width = 16;  // W
  std::int64_t encoder_layers = 1, global_layers = 8, decoder_layers = 3;  // DPAR-B
  nn::block_config block{.dim = 768, .heads = 12, .ffn_hidden = 2048, .norm_eps = 1e-5f};
  global_position positions = global_position::dynamic_4d;  // the main configs' "Dynamic RoPE with redundancy"
  float token_dropout = 0.1f;  // element-wise on the global input [class; patches], training only
  float label_dropout = 0.1f;  // label -> null class, training only
  float global_dropout = 0.1f;  // residual and FFN dropout in the global blocks (local modules: none)
  double init_std = 0.02;
  bool zero_head = true;
};

template <backend B, real T>
  requires transformer_ops<B, T>
class dpar_model {
 public:
  dpar_model(const dpar_config& cfg, std::uint64_t seed) : cfg_(cfg) {
    check(cfg.vocab > 0 && cfg.classes > 0 && cfg.tokens >= 2 && cfg.row_width > 0 &&
              cfg.tokens % cfg.row_width == 0 && cfg.global_layers >= 1,
          "dpar_model", "invalid config: vocab ", cfg.vocab, ", classes ", cfg.classes, ", tokens ", cfg.tokens,
          ", row_width ", cfg.row_width, ", global_layers ", cfg.global_layers);
    tok_emb_ = layout_.add("tok_emb", shape_t{cfg.vocab, cfg.block.dim});
    class_emb_ = layout_.add("class_emb", shape_t{cfg.classes + 1, cfg.block.dim});
    encoder_ = local_encoder<B, T>(layout_, "encoder", cfg.block, cfg.encoder_layers);
    for (std::int64_t l = 0; l < cfg.global_layers; ++l)
      global_blocks_.push_back(nn::block_params::add_to(layout_, "global.blocks." + std::to_string(l), cfg.block));
    decoder_ = local_decoder<B, T>(layout_, "decoder", cfg.block, cfg.decoder_layers, cfg.vocab);
    params_ = nn::param_arena<B, T>(layout_);
    grads_ = nn::param_arena<B, T>(layout_);
    nn::initialize_params(params_, seed, cfg.init_std);
    if (cfg.zero_head) {
      const auto head = params_[decoder_.head_index()];
      B::memory::zero(head.data, static_cast<std::size_t>(head.numel()) * sizeof(T));
    }
    const int hd = static_cast<int>(cfg.block.head_dim()), w = static_cast<int>(cfg.row_width);
    encoder_rope_ = rope_grid_tokens<T>(cfg.tokens - 1, w, hd, grid_rope_start::token_0);
    decoder_rope_ = rope_grid_tokens<T>(cfg.tokens - 1, w, hd, grid_rope_start::zero_slot);
  }

  const dpar_config& config() const { return cfg_; }
  const nn::param_layout& layout() const { return layout_; }
  nn::param_arena<B, T>& params() { return params_; }
  const nn::param_arena<B, T>& params() const { return params_; }
  nn::param_arena<B, T>& grads() { return grads_; }
  const local_encoder<B, T>& encoder() const { return encoder_; }
  // Parameter slices and RoPE tables, for incremental decoding (dpar_incremental_decoder).
  const local_decoder<B, T>& decoder() const { return decoder_; }
  std::size_t token_embedding_index() const { return tok_emb_; }
  std::size_t class_embedding_index() const { return class_emb_; }
  const nn::block_params& global_block(std::int64_t layer) const { return global_blocks_.at(static_cast<std::size_t>(layer)); }
  const nn::rope_table<T>& encoder_rope() const { return encoder_rope_; }
  const nn::rope_table<T>& decoder_rope() const { return decoder_rope_; }

  // Mean cross-entropy over all B x T tokens; keeps activations for backward().
  double forward(B& be, const dpar_batch& batch, const step_noise& noise = {}) {
    check_batch(batch);
    const auto& p = std::as_const(params_);
    const std::int64_t n_img = batch.images(), t_img = cfg_.tokens;
    const std::int64_t n_enc = n_img * (t_img - 1), n_patch = batch.patches(), n_slot = batch.slots();
    n_img_ = n_img;
    upload_indices(be, batch, noise);
    encoder_.prepare(n_enc, n_patch);
    decoder_.prepare(n_img * t_img, n_slot);
    prepare_global(n_slot, n_patch + n_img, n_enc);

    // Local encoder over E[x_0..x_{T-2}] of every image.
    embedding_forward(be, encoder_.input(), enc_ids_.cview(), p[tok_emb_]);
    encoder_.forward(be, p, enc_where_, pool_offsets_.cview(), patch_ranges_.cview());

    // Global transformer over [class; patches] per image: gather from [patch embeddings; class embeddings].
    copy(be, global_source_.view().slice_rows(0, n_patch), encoder_.patch_embeddings());
    embedding_forward(be, global_source_.view().slice_rows(n_patch, n_patch + n_img), labels_.cview(), p[class_emb_]);
    noise_ = noise;
    token_dropout_ = noise.training && cfg_.token_dropout > 0.0f;
    dropout_seed_ = noise.token_dropout_seed();
    embedding_forward(be, token_dropout_ ? global_input_.view() : global_[0].view(), slot_sources_.cview(),
                      global_source_.cview());
    if (token_dropout_)
      dropout_forward(be, global_[0].view(), global_input_.cview(), cfg_.token_dropout, dropout_seed_);
    nn::block_kv_cache<B, T>* const no_cache = nullptr;
    for (std::int64_t l = 0; l < cfg_.global_layers; ++l)
      nn::block_forward(be, cfg_.block, params_, global_blocks_[l], global_where_, global_[l].cview(),
                        global_[l + 1].view(), global_acts_[l], no_cache, global_drop(l));

    // Local decoder: every token of patch p reads G[p] (global output at slot p of its image).
    decoder_.forward(be, p, decoder_where_, encoder_.token_states(), global_out(), token_slots_.cview(), t_img);
    count_ = cross_entropy_forward(be, losses_.view(), probs_.view(), std::as_const(decoder_).logits(), targets_.cview(), -1);
    const double loss = sum(be, losses_.cview()) / static_cast<double>(count_);
    check(std::isfinite(loss), "dpar_model::forward", "loss is not finite (", loss, ")");
    return loss;
  }

  // Accumulates d(mean loss)/d(params) into grads(); call after forward().
  void backward(B& be) {
    check(count_ > 0, "dpar_model::backward", "no forward pass to differentiate");
    const auto& p = std::as_const(params_);
    const std::int64_t n_patch = pool_offsets_.numel() - 1, n_img = n_img_;
    auto dlogits = decoder_.logits();  // the logits are dead after the loss: reuse their memory
    fill(be, dlogits, T(0));
    cross_entropy_backward(be, dlogits, probs_.cview(), targets_.cview(), -1,
                           static_cast<T>(1.0 / static_cast<double>(count_)));
    fill(be, d_enc_tokens_.view(), T(0));
    auto* dy = &dglobal_[0];
    auto* dx = &dglobal_[1];
    fill(be, dy->view(), T(0));
    decoder_.backward(be, p, grads_, decoder_where_, global_out(), token_slots_.cview(), cfg_.tokens,
                      const_view<T>(dlogits), d_enc_tokens_.view(), dy->view());

    for (std::int64_t l = cfg_.global_layers - 1; l >= 0; --l) {
      fill(be, dx->view(), T(0));
      nn::block_backward(be, cfg_.block, params_, grads_, global_blocks_[l], global_where_, global_[l].cview(),
                         dy->cview(), dx->view(), global_acts_[l], global_scratch_, global_drop(l));
      std::swap(dy, dx);
    }
    if (token_dropout_) {
      fill(be, dx->view(), T(0));
      dropout_backward(be, dx->view(), dy->cview(), cfg_.token_dropout, dropout_seed_);
      std::swap(dy, dx);
    }
    fill(be, d_global_source_.view(), T(0));
    embedding_backward(be, d_global_source_.view(), dy->cview(), slot_sources_.cview());
    embedding_backward(be, grads_[class_emb_], d_global_source_.cview().slice_rows(n_patch, n_patch + n_img),
                       labels_.cview());

    const auto d_embedded = encoder_.backward(be, p, grads_, enc_where_, patch_ranges_.cview(), d_enc_tokens_.cview(),
                                              d_global_source_.cview().slice_rows(0, n_patch));
    embedding_backward(be, grads_[tok_emb_], d_embedded, enc_ids_.cview());
    count_ = 0;
  }

  // Logits of the last forward pass, [B x T, vocab] (row j of an image predicts x_j), on the host. backward()
  // reuses their memory for the logit gradients, so read them before it.
  tensor<T> logits(B& be) const { return download(be, decoder_.logits()); }
  // Global outputs G of the last forward pass, one row per global slot, on the host.
  tensor<T> global_outputs(B& be) const { return download(be, global_out()); }

 private:
  const_view<T> global_out() const { return global_.back().cview(); }

  nn::block_dropout global_drop(std::int64_t layer) const {
    if (!noise_.training) return {};
    return {cfg_.global_dropout, noise_.stream(16 + static_cast<std::uint64_t>(layer))};
  }

  void check_batch(const dpar_batch& batch) const {
    batch.grid.validate(cfg_.vocab, cfg_.classes);
    check(batch.grid.tokens_per_image == cfg_.tokens && batch.grid.row_width == cfg_.row_width, "dpar_model",
          "batch of ", batch.grid.tokens_per_image, " tokens in rows of ", batch.grid.row_width,
          " does not match the model's ", cfg_.tokens, " in rows of ", cfg_.row_width);
    check(static_cast<std::int64_t>(batch.token_slots.size()) == batch.images() * cfg_.tokens, "dpar_model",
          "batch indices are missing: build it with make_dpar_batch");
  }

  // Token ids, targets, labels, ranges and RoPE tables of the three stages, in backend memory.
  void upload_indices(B& be, const dpar_batch& batch, const step_noise& noise) {
    const std::int64_t n_img = batch.images(), t_img = cfg_.tokens;
    std::vector<std::int32_t> enc_ids;
    for (std::int64_t i = 0; i < n_img; ++i) {
      const auto first = batch.grid.tokens.begin() + i * t_img;
      enc_ids.insert(enc_ids.end(), first, first + t_img - 1);
    }
    enc_ids_ = upload(be, enc_ids);
    targets_ = upload(be, batch.grid.tokens);
    labels_ = upload(be, noise.dropped_labels(batch.grid.labels, cfg_.label_dropout,
                                                   static_cast<std::int32_t>(cfg_.classes)));
    pool_offsets_ = upload(be, batch.pool_offsets);
    patch_ranges_ = upload(be, segment_ranges(batch.pool_offsets));
    slot_sources_ = upload(be, batch.slot_sources);
    token_slots_ = upload(be, batch.token_slots);

    const int hd = static_cast<int>(cfg_.block.head_dim()), w = static_cast<int>(cfg_.row_width);
    std::vector<nn::rope_table<T>> slot_tables;
    for (std::int64_t i = 0; i < n_img; ++i) slot_tables.push_back(rope_global_slots<T>(cfg_.positions, batch.lengths[i], w, hd));
    std::vector<const nn::rope_table<T>*> enc_parts, dec_parts, slot_parts;
    for (std::int64_t i = 0; i < n_img; ++i) {
      enc_parts.push_back(&encoder_rope_);
      dec_parts.push_back(&decoder_rope_);
      slot_parts.push_back(&slot_tables[static_cast<std::size_t>(i)]);
    }
    enc_where_ = layout_on(be, stack_rope_tables(enc_parts), causal_ranges(batch.encoder_offsets));
    global_where_ = layout_on(be, stack_rope_tables(slot_parts), causal_ranges(batch.slot_offsets));
    decoder_where_ = layout_on(be, stack_rope_tables(dec_parts), causal_ranges(batch.token_offsets));
  }

  static nn::token_layout<B, T> layout_on(B& be, const nn::rope_table<T>& rope, const tensor<std::int32_t>& ranges) {
    return {upload(be, rope.cos), upload(be, rope.sin), upload(be, ranges)};
  }

  void prepare_global(std::int64_t n_slot, std::int64_t n_source, std::int64_t n_enc) {
    const auto& c = cfg_.block;
    if (global_.empty() || global_[0].dim(0) != n_slot || global_source_.dim(0) != n_source) {
      global_.clear();
      global_acts_.clear();
      for (std::int64_t l = 0; l <= cfg_.global_layers; ++l) global_.emplace_back(shape_t{n_slot, c.dim});
      for (std::int64_t l = 0; l < cfg_.global_layers; ++l) global_acts_.emplace_back(c, n_slot);
      global_scratch_ = nn::block_scratch<B, T>(c, n_slot);
      global_input_ = tensor_on<B, T>(shape_t{n_slot, c.dim});
      for (auto& d : dglobal_) d = tensor_on<B, T>(shape_t{n_slot, c.dim});
      global_source_ = tensor_on<B, T>(shape_t{n_source, c.dim});
      d_global_source_ = tensor_on<B, T>(shape_t{n_source, c.dim});
    }
    if (d_enc_tokens_.empty() || d_enc_tokens_.dim(0) != n_enc) {
      d_enc_tokens_ = tensor_on<B, T>(shape_t{n_enc, c.dim});
      const std::int64_t n_tok = n_enc + n_enc / (cfg_.tokens - 1);
      probs_ = tensor_on<B, T>(shape_t{n_tok, cfg_.vocab});
      losses_ = tensor_on<B, T>(shape_t{n_tok});
    }
  }

  dpar_config cfg_;
  nn::param_layout layout_;
  std::size_t tok_emb_ = 0, class_emb_ = 0;
  local_encoder<B, T> encoder_;
  std::vector<nn::block_params> global_blocks_;
  local_decoder<B, T> decoder_;
  nn::param_arena<B, T> params_, grads_;
  nn::rope_table<T> encoder_rope_, decoder_rope_;  // one image's tables, host side

  std::vector<tensor_on<B, T>> global_;  // global stream before each block, and after the last (= G)
  std::vector<nn::block_activations<B, T>> global_acts_;
  nn::block_scratch<B, T> global_scratch_;
  tensor_on<B, T> global_source_, global_input_, dglobal_[2], d_global_source_, d_enc_tokens_, probs_, losses_;
  tensor_on<B, std::int32_t> enc_ids_, targets_, labels_, pool_offsets_, patch_ranges_, slot_sources_, token_slots_;
  nn::token_layout<B, T> enc_where_, global_where_, decoder_where_;
  step_noise noise_;
  bool token_dropout_ = false;
  std::uint64_t dropout_seed_ = 0;
  std::int64_t count_ = 0, n_img_ = 0;
};

}  // namespace patchzoo::dpar
