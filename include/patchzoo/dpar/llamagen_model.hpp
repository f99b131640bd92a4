#pragma once
// LlamaGen: the class-conditional autoregressive baseline, and (conditional = false) DPAR's entropy model.
// Conditional: [class ; x_0..x_{T-2}] -> logits for x_0..x_{T-1} (T slots). Unconditional: x_0..x_{T-2}
// -> logits for x_1..x_{T-1} (T-1 slots). 2-D RoPE over grid cells (the class slot's row is zero),
// LLaMA blocks, final RMSNorm and a (zero-initialised) head. Batches of B images are packed: causal
// attention runs over per-image ranges, never across images.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "patchzoo/backend/transfer.hpp"
#include "patchzoo/dpar/dpar_batch.hpp"
#include "patchzoo/dpar/entropy.hpp"
#include "patchzoo/dpar/rope_layouts.hpp"
#include "patchzoo/nn/init.hpp"
#include "patchzoo/nn/llama_block.hpp"
#include "patchzoo/nn/lm_head.hpp"
#include "patchzoo/nn/transposed_weights.hpp"
#include "patchzoo/ops/attention_ranges.hpp"

namespace patchzoo::dpar {

struct llamagen_config {
  std::int64_t vocab = 16384;
  std::int64_t classes = 1000;  // the class table has classes + 1 rows; the last is the CFG null class
  std::int64_t tokens = 256;    // T per image
  std::int64_t row_width = 16;  // W
  std::int64_t layers = 12;
  bool conditional = true;
  nn::block_config block{.dim = 768, .heads = 12, .ffn_hidden = 2048, .norm_eps = 1e-5f};
  float token_dropout = 0.1f;  // element-wise on the input sequence, training only
  float label_dropout = 0.1f;  // label -> null class, training only
  float block_dropout = 0.1f;  // residual and FFN dropout inside every block, training only
  double init_std = 0.02;
  bool zero_head = true;

  // Row r of the logits predicts token r + first_predicted_token(): the class slot predicts x_0, while the
  // unconditional model reads x_0 first and predicts from x_1 on.
  std::int64_t first_predicted_token() const { return conditional ? 0 : 1; }
  std::int64_t slots() const { return tokens - first_predicted_token(); }
};

template <backend B, real T>
  requires transformer_ops<B, T>
class llamagen_model {
 public:
  llamagen_model(const llamagen_config& cfg, std::uint64_t seed) : cfg_(cfg) {
    check(cfg.vocab > 0 && cfg.layers > 0 && cfg.tokens >= 2 && cfg.row_width > 0 &&
              cfg.tokens % cfg.row_width == 0 && (!cfg.conditional || cfg.classes > 0),
          "llamagen_model", "invalid config: vocab ", cfg.vocab, ", layers ", cfg.layers, ", tokens ", cfg.tokens,
          ", row_width ", cfg.row_width, ", classes ", cfg.classes);
    tok_emb_ = layout_.add("tok_emb", shape_t{cfg.vocab, cfg.block.dim});
    if (cfg.conditional) class_emb_ = layout_.add("class_emb", shape_t{cfg.classes + 1, cfg.block.dim});
    for (std::int64_t l = 0; l < cfg.layers; ++l)
      blocks_.push_back(nn::block_params::add_to(layout_, "blocks." + std::to_string(l), cfg.block));
    final_norm_ = layout_.add("final_norm.weight", shape_t{cfg.block.dim});
    head_ = layout_.add("head", shape_t{cfg.vocab, cfg.block.dim});
    params_ = nn::param_arena<B, T>(layout_);
    grads_ = nn::param_arena<B, T>(layout_);
    nn::initialize_params(params_, seed, cfg.init_std);
    if (cfg.zero_head) zero_slice(params_, head_);
    const auto table = rope_grid_tokens<T>(cfg.tokens - 1, static_cast<int>(cfg.row_width), static_cast<int>(cfg.block.head_dim()),
                                           cfg.conditional ? grid_rope_start::zero_slot : grid_rope_start::token_0);
    image_rope_.cos = table.cos.clone();
    image_rope_.sin = table.sin.clone();
  }

  const llamagen_config& config() const { return cfg_; }
  const nn::param_layout& layout() const { return layout_; }
  nn::param_arena<B, T>& params() { return params_; }
  const nn::param_arena<B, T>& params() const { return params_; }
  nn::param_arena<B, T>& grads() { return grads_; }

  // Mean cross-entropy over every predicted token of the batch; keeps activations for backward().
  double forward(B& be, const token_grid_batch& batch, const step_noise& noise = {}) {
    check_batch(batch);
    const std::int64_t n_img = batch.images(), t_img = cfg_.tokens, slots = cfg_.slots();
    prepare(n_img * slots);
    std::vector<std::int32_t> inputs, targets, offsets{0};
    for (std::int64_t i = 0; i < n_img; ++i) {
      const std::int32_t* x = batch.tokens.data() + i * t_img;
      inputs.insert(inputs.end(), x, x + t_img - 1);
      targets.insert(targets.end(), x + (cfg_.conditional ? 0 : 1), x + t_img);
      offsets.push_back(static_cast<std::int32_t>((i + 1) * slots));
    }
    ids_ = upload(be, inputs);
    targets_ = upload(be, targets);
    if (cfg_.conditional)
      labels_ = upload(be, noise.dropped_labels(batch.labels, cfg_.label_dropout, null_class()));
    std::vector<const nn::rope_table<T>*> tables(static_cast<std::size_t>(n_img), &image_rope_);
    const auto rope = stack_rope_tables(tables);
    where_ = {upload(be, rope.cos), upload(be, rope.sin), upload(be, causal_ranges(offsets))};

    noise_ = noise;
    token_dropout_ = noise.training && cfg_.token_dropout > 0.0f;
    dropout_seed_ = noise.token_dropout_seed();
    embed_inputs(be, n_img, token_dropout_ ? embedded_.view() : stream_[0].view());
    if (token_dropout_) dropout_forward(be, stream_[0].view(), embedded_.cview(), cfg_.token_dropout, dropout_seed_);
    run_blocks(be, nullptr);
    head_forward(be);
    auto& h = head_buffers_;
    count_ = cross_entropy_forward(be, h.losses.view(), h.probs.view(), h.logits.cview(), targets_.cview(), -1);
    const double loss = sum(be, h.losses.cview()) / static_cast<double>(count_);
    check(std::isfinite(loss), "llamagen_model::forward", "loss is not finite (", loss, ")");
    images_ = n_img;
    return loss;
  }

  // Accumulates d(mean loss)/d(params) into grads(); call after forward().
  void backward(B& be) {
    check(count_ > 0, "llamagen_model::backward", "no forward pass to differentiate");
    const auto& p = std::as_const(params_);
    auto* dy = &dstream_[0];
    auto* dx = &dstream_[1];
    nn::lm_head_backward(be, head_buffers_, targets_.cview(), -1, count_, stream_[cfg_.layers].cview(), p[final_norm_],
                         p[head_], grads_[final_norm_], grads_[head_], dy->view());
    for (std::int64_t l = cfg_.layers - 1; l >= 0; --l) {
      fill(be, dx->view(), T(0));
      nn::block_backward(be, cfg_.block, params_, grads_, blocks_[l], where_, stream_[l].cview(), dy->cview(),
                         dx->view(), acts_[l], scratch_, block_drop(l));
      std::swap(dy, dx);
    }
    if (token_dropout_) {
      fill(be, dx->view(), T(0));
      dropout_backward(be, dx->view(), dy->cview(), cfg_.token_dropout, dropout_seed_);
      std::swap(dy, dx);
    }
    embed_backward(be, images_, dy->cview());
    count_ = 0;
  }

  // Logits of the last forward pass, [slots, vocab] (packed over images), on the host. backward() reuses
  // their memory for the logit gradients, so read them before it.
  tensor<T> logits(B& be) const { return download(be, head_buffers_.logits.cview()); }

  // Next-token entropies in nats, [B, T]: column t holds H_t = H(p(x_t | x_<t)). The unconditional model
  // never predicts x_0, so its column 0 is 0.
  tensor<T> next_token_entropies(B& be, const token_grid_batch& batch) {
    forward(be, batch);
    count_ = 0;
    const tensor<T> lg = logits(be);
    const std::int64_t n_img = batch.images(), slots = cfg_.slots(), t_img = cfg_.tokens;
    tensor<T> h(shape_t{n_img, t_img});
    for (std::int64_t i = 0; i < n_img; ++i)
      entropies_by_predicted_token(lg.cview().slice_rows(i * slots, (i + 1) * slots), cfg_.first_predicted_token(),
                                   std::span<T>(h.data() + i * t_img, static_cast<std::size_t>(t_img)));
    return h;
  }

  // Incremental decoding of one image: one KV cache per block.
  struct decode_state {
    std::vector<nn::block_kv_cache<B, T>> caches;
    std::int32_t label = 0;
    std::int64_t length() const { return caches.empty() ? 0 : caches[0].length; }
  };

  decode_state start_decoding(std::int32_t label = 0) const {
    check(!cfg_.conditional || (label >= 0 && label <= cfg_.classes), "llamagen_model::start_decoding", "label ",
          label, " is out of range [0, ", cfg_.classes, "]");
    decode_state s;
    s.label = label;
    for (std::int64_t l = 0; l < cfg_.layers; ++l) s.caches.emplace_back(cfg_.block, cfg_.slots());
    return s;
  }

  // Feeds the next tokens (the conditional model's first call also feeds the class slot) and returns the
  // logits [fed slots, vocab] on the host: row r predicts the token after fed slot r.
  tensor<T> decode(B& be, decode_state& state, const std::vector<std::int32_t>& tokens) {
    const char* op = "llamagen_model::decode";
    const std::int64_t start = state.length();
    const bool class_slot = cfg_.conditional && start == 0;
    const std::int64_t n = static_cast<std::int64_t>(tokens.size()) + (class_slot ? 1 : 0);
    check(n > 0, op, "no tokens to feed");
    check(start + n <= cfg_.slots(), op, start, " slots fed and ", n, " more exceed the ", cfg_.slots(),
          " slots of an image");
    for (std::size_t i = 0; i < tokens.size(); ++i)
      check(tokens[i] >= 0 && tokens[i] < cfg_.vocab, op, "token ", tokens[i], " at position ", i,
            " is out of range [0, ", cfg_.vocab, ")");
    prepare(n);
    std::vector<std::int64_t> rows;
    std::vector<std::int32_t> ranges;
    for (std::int64_t i = 0; i < n; ++i) {
      rows.push_back(start + i);
      ranges.push_back(0);
      ranges.push_back(static_cast<std::int32_t>(start + i + 1));
    }
    where_ = token_layout_at(be, image_rope_, rows, ranges);
    const auto& p = std::as_const(params_);
    const std::int64_t first_token = class_slot ? 1 : 0;
    if (class_slot) {
      labels_ = upload(be, std::vector<std::int32_t>{state.label});
      embedding_forward(be, stream_[0].view().slice_rows(0, 1), labels_.cview(), p[class_emb_]);
    }
    if (!tokens.empty()) {
      ids_ = upload(be, tokens);
      embedding_forward(be, stream_[0].view().slice_rows(first_token, n), ids_.cview(), p[tok_emb_]);
    }
    noise_ = {};
    std::vector<nn::block_kv_cache<B, T>*> caches;
    for (auto& c : state.caches) caches.push_back(&c);
    run_blocks(be, &caches);
    head_forward(be);
    count_ = 0;  // decoding keeps no state for backward()
    return download(be, head_buffers_.logits.cview());
  }

  // Incremental decoding of many sequences in lockstep, for batched sampling: one KV cache per block shared
  // by all of them (sequence i owns rows [i * slots, (i + 1) * slots)); every call feeds one slot each.
  struct lockstep_state {
    std::vector<nn::block_kv_cache<B, T>> caches;
    nn::transposed_weights<B, T> weights;  // made on the first step, a snapshot of the model's weights
    std::vector<std::int32_t> labels;  // conditional: each sequence's class (the null class for CFG's half)
    std::int64_t sequences = 0, length = 0;
  };

  // Bytes of the keys and values one sequence's lockstep caches hold.
  std::size_t lockstep_cache_bytes_per_sequence() const {
    return static_cast<std::size_t>(cfg_.layers * cfg_.slots() * 2 * cfg_.block.dim) * sizeof(T);
  }

  lockstep_state start_lockstep(std::int64_t sequences, std::vector<std::int32_t> labels = {}) const {
    const char* op = "llamagen_model::start_lockstep";
    check(sequences >= 1, op, "needs at least one sequence, got ", sequences);
    check(cfg_.conditional ? static_cast<std::int64_t>(labels.size()) == sequences : labels.empty(), op,
          cfg_.conditional ? "a conditional model needs one label per sequence" : "an unconditional model takes no labels",
          " (", labels.size(), " labels for ", sequences, " sequences)");
    for (std::size_t i = 0; i < labels.size(); ++i)
      check(labels[i] >= 0 && labels[i] <= cfg_.classes, op, "label ", labels[i], " of sequence ", i,
            " is out of range [0, ", cfg_.classes, "]");
    lockstep_state s;
    s.labels = std::move(labels);
    s.sequences = sequences;
    for (std::int64_t l = 0; l < cfg_.layers; ++l) s.caches.emplace_back(cfg_.block, sequences * cfg_.slots());
    return s;
  }

  // Feeds one slot per sequence: a conditional model's first call feeds the class slots (tokens empty),
  // every other call one token per sequence. Returns the logits [sequences, vocab] on the host: row i
  // predicts sequence i's next token.
  tensor<T> decode_lockstep(B& be, lockstep_state& state, const std::vector<std::int32_t>& tokens) {
    const char* op = "llamagen_model::decode_lockstep";
    const std::int64_t n = state.sequences, pos = state.length, slots = cfg_.slots();
    const bool class_slot = cfg_.conditional && pos == 0;
    check(static_cast<std::int64_t>(tokens.size()) == (class_slot ? 0 : n), op, "expected ", class_slot ? 0 : n,
          " tokens (", class_slot ? "the class slots come first" : "one per sequence", "), got ", tokens.size());
    check(pos < slots, op, "all ", slots, " slots of every sequence are already fed");
    for (std::size_t i = 0; i < tokens.size(); ++i)
      check(tokens[i] >= 0 && tokens[i] < cfg_.vocab, op, "token ", tokens[i], " of sequence ", i,
            " is out of range [0, ", cfg_.vocab, ")");
    prepare(n);
    std::vector<std::int64_t> rows(static_cast<std::size_t>(n), pos), cache_rows;
    std::vector<std::int32_t> ranges;
    for (std::int64_t i = 0; i < n; ++i) {
      cache_rows.push_back(i * slots + pos);
      ranges.push_back(static_cast<std::int32_t>(i * slots));
      ranges.push_back(static_cast<std::int32_t>(i * slots + pos + 1));
    }
    where_ = token_layout_at(be, image_rope_, rows, ranges);
    const auto& p = std::as_const(params_);
    if (class_slot) {
      labels_ = upload(be, state.labels);
      embedding_forward(be, stream_[0].view(), labels_.cview(), p[class_emb_]);
    } else {
      ids_ = upload(be, tokens);
      embedding_forward(be, stream_[0].view(), ids_.cview(), p[tok_emb_]);
    }
    noise_ = {};
    std::vector<nn::block_kv_cache<B, T>*> caches;
    for (auto& c : state.caches) {
      c.write_rows = cache_rows;
      caches.push_back(&c);
    }
    run_blocks(be, &caches, &state.weights);
    head_forward(be, &state.weights);
    ++state.length;
    count_ = 0;
    return download(be, head_buffers_.logits.cview());
  }

 private:
  std::int32_t null_class() const { return static_cast<std::int32_t>(cfg_.classes); }

  static void zero_slice(nn::param_arena<B, T>& arena, std::size_t index) {
    const auto v = arena[index];
    B::memory::zero(v.data, static_cast<std::size_t>(v.numel()) * sizeof(T));
  }

  void check_batch(const token_grid_batch& batch) const {
    batch.validate(cfg_.vocab, cfg_.conditional ? cfg_.classes : 0);
    check(batch.tokens_per_image == cfg_.tokens && batch.row_width == cfg_.row_width, "llamagen_model",
          "batch of ", batch.tokens_per_image, " tokens in rows of ", batch.row_width, " does not match the model's ",
          cfg_.tokens, " in rows of ", cfg_.row_width);
  }

  // Class rows and token rows of each image, at the image's slots of the packed input.
  void embed_inputs(B& be, std::int64_t n_img, tensor_view<T> dst) {
    const auto& p = std::as_const(params_);
    const std::int64_t slots = cfg_.slots(), inputs = cfg_.tokens - 1;
    for (std::int64_t i = 0; i < n_img; ++i) {
      std::int64_t row = i * slots;
      if (cfg_.conditional) {
        embedding_forward(be, dst.slice_rows(row, row + 1), labels_.cview().slice_rows(i, i + 1), p[class_emb_]);
        ++row;
      }
      embedding_forward(be, dst.slice_rows(row, row + inputs), ids_.cview().slice_rows(i * inputs, (i + 1) * inputs),
                        p[tok_emb_]);
    }
  }

  void embed_backward(B& be, std::int64_t n_img, const_view<T> dsrc) {
    const std::int64_t slots = cfg_.slots(), inputs = cfg_.tokens - 1;
    for (std::int64_t i = 0; i < n_img; ++i) {
      std::int64_t row = i * slots;
      if (cfg_.conditional) {
        embedding_backward(be, grads_[class_emb_], dsrc.slice_rows(row, row + 1), labels_.cview().slice_rows(i, i + 1));
        ++row;
      }
      embedding_backward(be, grads_[tok_emb_], dsrc.slice_rows(row, row + inputs),
                         ids_.cview().slice_rows(i * inputs, (i + 1) * inputs));
    }
  }

  void run_blocks(B& be, std::vector<nn::block_kv_cache<B, T>*>* caches,
                  nn::transposed_weights<B, T>* transposed = nullptr) {
    for (std::int64_t l = 0; l < cfg_.layers; ++l)
      nn::block_forward(be, cfg_.block, params_, blocks_[l], where_, stream_[l].cview(), stream_[l + 1].view(),
                        acts_[l], caches ? (*caches)[l] : nullptr, block_drop(l), transposed);
  }

  nn::block_dropout block_drop(std::int64_t layer) const {
    if (!noise_.training) return {};
    return {cfg_.block_dropout, noise_.stream(16 + static_cast<std::uint64_t>(layer))};
  }

  void head_forward(B& be, nn::transposed_weights<B, T>* transposed = nullptr) {
    const auto& p = std::as_const(params_);
    const std::int64_t rows = stream_[cfg_.layers].dim(0);
    nn::lm_head_forward(be, head_buffers_, stream_[cfg_.layers].cview(), p[final_norm_],
                        nn::weight_for(be, p, head_, rows, transposed), cfg_.block.norm_eps);
  }

  void prepare(std::int64_t n) {
    if (!stream_.empty() && stream_[0].dim(0) == n) return;
    const auto& c = cfg_.block;
    stream_.clear();
    acts_.clear();
    for (std::int64_t l = 0; l <= cfg_.layers; ++l) stream_.emplace_back(shape_t{n, c.dim});
    for (std::int64_t l = 0; l < cfg_.layers; ++l) acts_.emplace_back(c, n);
    scratch_ = nn::block_scratch<B, T>(c, n);
    embedded_ = tensor_on<B, T>(shape_t{n, c.dim});
    dstream_[0] = tensor_on<B, T>(shape_t{n, c.dim});
    dstream_[1] = tensor_on<B, T>(shape_t{n, c.dim});
    head_buffers_ = nn::lm_head_buffers<B, T>(n, c.dim, cfg_.vocab);
  }

  llamagen_config cfg_;
  nn::param_layout layout_;
  std::size_t tok_emb_ = 0, class_emb_ = 0, final_norm_ = 0, head_ = 0;
  std::vector<nn::block_params> blocks_;
  nn::param_arena<B, T> params_, grads_;
  nn::rope_table<T> image_rope_;  // one image's slots, host side

  std::vector<tensor_on<B, T>> stream_;  // residual stream before each block, and after the last
  std::vector<nn::block_activations<B, T>> acts_;
  nn::block_scratch<B, T> scratch_;
  tensor_on<B, T> embedded_, dstream_[2];
  nn::lm_head_buffers<B, T> head_buffers_;
  tensor_on<B, std::int32_t> ids_, targets_, labels_;
  nn::token_layout<B, T> where_;
  step_noise noise_;
  bool token_dropout_ = false;
  std::uint64_t dropout_seed_ = 0;
  std::int64_t count_ = 0, images_ = 0;
};

}  // namespace patchzoo::dpar
