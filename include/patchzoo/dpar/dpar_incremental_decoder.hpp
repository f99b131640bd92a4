#pragma once
// Exact KV-cached evaluation of a dpar_model for sampling, one token per image per step. The reference
// code re-runs the whole model at every token; this gives the same logits at a cost per
// token that does not grow with the prefix:
//  * local encoder: token blocks with KV caches; when a patch completes, its query (the max-pool of its
//    tokens' layer-0 states) cross-attends to its own tokens, giving the patch embedding once;
//  * global transformer: KV caches over [class; patches], advanced only when a patch completes;
//  * local decoder: KV caches over [start; H_enc]; position t adds the copy of G at the slot before token
//    t's patch, which is always the slot fed last.
// Sequences are images x halves: with guidance the second half runs the null class. Both halves share the
// tokens, so the encoder (which never sees the class) runs once per image.
#include <cstddef>
#include <cstdint>
#include <map>
#include <numeric>
#include <utility>
#include <vector>

#include "patchzoo/backend/transfer.hpp"
#include "patchzoo/dpar/dpar_model.hpp"
#include "patchzoo/nn/transposed_weights.hpp"

namespace patchzoo::dpar {

template <backend B, real T>
  requires transformer_ops<B, T>
class dpar_incremental_decoder {
 public:
  // Bytes of keys and values the caches below hold per image: the encoder's once, the global model's and
  // the decoder's per half.
  static std::size_t cache_bytes_per_image(const dpar_model<B, T>& model, guidance g) {
    const auto& cfg = model.config();
    const std::int64_t row = 2 * cfg.block.dim;  // one key and one value
    const std::int64_t encoder = model.encoder().layers() * (cfg.tokens - 1);
    const std::int64_t per_half = cfg.global_layers * (cfg.tokens + 1) + model.decoder().layers() * cfg.tokens;
    return static_cast<std::size_t>((encoder + halves(g) * per_half) * row) * sizeof(T);
  }

  // labels: one class per image; CFG adds a null-class sequence per image (rows images..2*images-1).
  dpar_incremental_decoder(const dpar_model<B, T>& model, std::vector<std::int32_t> labels, guidance g)
      : model_(model), c_(model.config().block), images_(static_cast<std::int64_t>(labels.size())),
        sequences_(images_ * halves(g)), labels_(std::move(labels)) {
    const auto& cfg = model.config();
    check(images_ >= 1, "dpar_incremental_decoder", "needs at least one image");
    for (const auto label : labels_)
      check(label >= 0 && label < cfg.classes, "dpar_incremental_decoder", "label ", label, " is out of range [0, ",
            cfg.classes, ")");
    if (g == guidance::classifier_free)
      for (std::int64_t i = 0; i < images_; ++i) labels_.push_back(static_cast<std::int32_t>(cfg.classes));
    const std::int64_t t_img = cfg.tokens, inputs = t_img - 1;
    for (std::int64_t l = 0; l < model.encoder().layers(); ++l) {
      enc_caches_.emplace_back(c_, images_ * inputs);
      enc_states_.emplace_back(shape_t{inputs * images_, c_.dim});  // position-major: row q * images + i
      enc_acts_.emplace_back(c_, images_);
    }
    for (std::int64_t l = 0; l < cfg.global_layers; ++l) global_caches_.emplace_back(c_, sequences_ * global_slots());
    for (std::int64_t l = 0; l < model.decoder().layers(); ++l) {
      dec_caches_.emplace_back(c_, sequences_ * t_img);
      dec_acts_.emplace_back(c_, sequences_);
    }
    for (std::int64_t l = 0; l <= model.decoder().layers(); ++l) dec_stream_.emplace_back(shape_t{sequences_, c_.dim});
    enc_input_ = tensor_on<B, T>(shape_t{images_, c_.dim});
    g_current_ = tensor_on<B, T>(shape_t{sequences_, c_.dim});
    copy_normed_ = tensor_on<B, T>(shape_t{sequences_, c_.dim});
    copy_rstd_ = tensor_on<B, T>(shape_t{sequences_});
    after_copy_ = tensor_on<B, T>(shape_t{sequences_, c_.dim});
    final_out_ = tensor_on<B, T>(shape_t{sequences_, c_.dim});
    final_rstd_ = tensor_on<B, T>(shape_t{sequences_});
    logits_ = tensor_on<B, T>(shape_t{sequences_, cfg.vocab});
    completed_.resize(static_cast<std::size_t>(images_));
  }

  std::int64_t images() const { return images_; }
  std::int64_t sequences() const { return sequences_; }
  std::int64_t position() const { return t_; }

  // Step t = position(): previous holds x_{t-1} of every image (empty at t = 0); lengths[i] are image i's
  // patch lengths over tokens 0..t (summing to t + 1; the last patch holds token t and may still grow).
  // Returns the logits [sequences, vocab] for x_t on the host.
  tensor<T> step(B& be, const std::vector<std::int32_t>& previous, const std::vector<std::vector<std::int32_t>>& lengths) {
    const char* op = "dpar_incremental_decoder::step";
    const auto& cfg = model_.config();
    check(t_ < cfg.tokens, op, "all ", cfg.tokens, " positions are already decoded");
    check(static_cast<std::int64_t>(previous.size()) == (t_ == 0 ? 0 : images_), op, "expected ",
          t_ == 0 ? 0 : images_, " previous tokens at position ", t_, ", got ", previous.size());
    check(static_cast<std::int64_t>(lengths.size()) == images_, op, "expected patch lengths of ", images_,
          " images, got ", lengths.size());
    // Images whose token t starts a new patch: their previous patch is complete and enters the global model.
    std::vector<std::int64_t> completing;
    for (std::int64_t i = 0; i < images_; ++i) {
      const auto& len = lengths[static_cast<std::size_t>(i)];
      auto& done = completed_[static_cast<std::size_t>(i)];
      check(!len.empty() && std::accumulate(len.begin(), len.end(), std::int64_t{0}) == t_ + 1, op, "patch lengths of image ",
            i, " must sum to ", t_ + 1);
      check(len.size() == done.size() + 1 || (len.size() == done.size() + 2 && len.back() == 1), op,
            "patch lengths of image ", i, " at position ", t_, " do not extend the earlier ones (", done.size(),
            " patches complete, now ", len.size(), ")");
      check(std::equal(done.begin(), done.end(), len.begin()), op, "the patcher changed a complete patch of image ", i,
            " at position ", t_, ": it must be prefix-stable");
      if (t_ > 0 && len.size() == done.size() + 2) {
        done.push_back(len[done.size()]);
        completing.push_back(i);
      }
    }
    if (t_ > 0) encoder_step(be, previous);
    if (t_ == 0) {
      std::vector<std::int64_t> all(static_cast<std::size_t>(images_));
      std::iota(all.begin(), all.end(), 0);
      global_step(be, all, {});
    } else if (!completing.empty()) {
      const tensor_on<B, T> patches = encode_patches(be, completing);
      global_step(be, completing, patches.cview());
    }
    decoder_step(be);
    ++t_;
    return download(be, logits_.cview());
  }

 private:
  std::int64_t global_slots() const { return model_.config().tokens + 1; }  // class + at most T patches
  std::int64_t image_of(std::int64_t sequence) const { return sequence % images_; }

  // Feeds x_{t-1} of every image at encoder position t - 1; the block outputs land in enc_states_.
  void encoder_step(B& be, const std::vector<std::int32_t>& previous) {
    const auto& p = model_.params();
    const std::int64_t q = t_ - 1, inputs = model_.config().tokens - 1;
    ids_ = upload(be, previous);
    embedding_forward(be, enc_input_.view(), ids_.cview(), p[model_.token_embedding_index()]);
    std::vector<std::int64_t> rope_rows(static_cast<std::size_t>(images_), q), cache_rows;
    std::vector<std::int32_t> ranges;
    for (std::int64_t i = 0; i < images_; ++i) {
      cache_rows.push_back(i * inputs + q);
      ranges.push_back(static_cast<std::int32_t>(i * inputs));
      ranges.push_back(static_cast<std::int32_t>(i * inputs + q + 1));
    }
    const auto where = token_layout_at(be, model_.encoder_rope(), rope_rows, ranges);
    const_view<T> x = enc_input_.cview();
    for (std::int64_t l = 0; l < model_.encoder().layers(); ++l) {
      auto& cache = enc_caches_[static_cast<std::size_t>(l)];
      cache.write_rows = cache_rows;
      auto y = enc_states_[static_cast<std::size_t>(l)].view().slice_rows(q * images_, (q + 1) * images_);
      nn::block_forward(be, c_, p, model_.encoder().block(l), where, x, y, enc_acts_[static_cast<std::size_t>(l)],
                        &cache, {}, &weights_);
      x = y;
    }
  }

  // Embeddings of the patch each completing image has just finished (tokens completed_.back() before t).
  tensor_on<B, T> encode_patches(B& be, const std::vector<std::int64_t>& completing) {
    const auto& p = model_.params();
    const auto np = static_cast<std::int64_t>(completing.size());
    std::vector<std::int32_t> rows, offsets{0};
    for (const std::int64_t i : completing) {
      const std::int64_t length = completed_[static_cast<std::size_t>(i)].back();
      for (std::int64_t q = t_ - length; q < t_; ++q) rows.push_back(static_cast<std::int32_t>(q * images_ + i));
      offsets.push_back(static_cast<std::int32_t>(rows.size()));
    }
    const auto n = static_cast<std::int64_t>(rows.size());
    const auto row_ids = upload(be, rows);
    const auto offsets_on = upload(be, offsets);
    const auto ranges = upload(be, segment_ranges(offsets));
    tensor_on<B, T> gathered(shape_t{n, c_.dim}), patch[2] = {tensor_on<B, T>(shape_t{np, c_.dim}), tensor_on<B, T>(shape_t{np, c_.dim})};
    tensor_on<B, std::int32_t> argmax(shape_t{np, c_.dim});
    cross_attention_state<B, T> state(c_, np, n);
    for (std::int64_t l = 0; l < model_.encoder().layers(); ++l) {
      embedding_forward(be, gathered.view(), row_ids.cview(), enc_states_[static_cast<std::size_t>(l)].cview());
      if (l == 0) segment_maxpool_forward(be, patch[0].view(), argmax.view(), gathered.cview(), offsets_on.cview());
      cross_attention_forward(be, c_, p, model_.encoder().cross(l), ranges.cview(), patch[l % 2].cview(),
                              gathered.cview(), patch[(l + 1) % 2].view(), state, &weights_);
    }
    return std::move(patch[model_.encoder().layers() % 2]);
  }

  // Feeds one global slot to both halves of each listed image: the class (t = 0, patches empty) or the
  // patch it just completed (row k of patches for the k-th listed image). G of those sequences is updated.
  void global_step(B& be, const std::vector<std::int64_t>& images, const_view<T> patches) {
    const auto& cfg = model_.config();
    const auto& p = model_.params();
    const int hd = static_cast<int>(c_.head_dim()), w = static_cast<int>(cfg.row_width);
    std::vector<std::int64_t> sequences, cache_rows;
    std::vector<std::int32_t> sources, ranges;
    std::vector<const nn::rope_table<T>*> parts;
    std::vector<nn::rope_table<T>> slot_rows;
    for (std::int64_t half = 0; half < sequences_ / images_; ++half)
      for (std::size_t k = 0; k < images.size(); ++k) {
        const std::int64_t s = half * images_ + images[k];
        const auto& done = completed_[static_cast<std::size_t>(images[k])];
        const auto slot = static_cast<std::int64_t>(done.size());  // 0 = the class slot
        sequences.push_back(s);
        sources.push_back(t_ == 0 ? labels_[static_cast<std::size_t>(s)] : static_cast<std::int32_t>(k));
        cache_rows.push_back(s * global_slots() + slot);
        ranges.push_back(static_cast<std::int32_t>(s * global_slots()));
        ranges.push_back(static_cast<std::int32_t>(s * global_slots() + slot + 1));
        slot_rows.push_back(rope_global_last_slot<T>(cfg.positions, done, w, hd));
      }
    for (const auto& r : slot_rows) parts.push_back(&r);
    const auto rope = stack_rope_tables(parts);
    const auto n = static_cast<std::int64_t>(sequences.size());
    const nn::token_layout<B, T> where{upload(be, rope.cos), upload(be, rope.sin),
                                       upload(be, tensor<std::int32_t>(shape_t{n, 2}, ranges))};
    auto& stream = global_stream(n);
    const auto source_ids = upload(be, sources);
    embedding_forward(be, stream[0].view(), source_ids.cview(),
                      t_ == 0 ? const_view<T>(p[model_.class_embedding_index()]) : patches);
    auto& acts = global_acts_.at(n);
    for (std::int64_t l = 0; l < cfg.global_layers; ++l) {
      auto& cache = global_caches_[static_cast<std::size_t>(l)];
      cache.write_rows = cache_rows;
      nn::block_forward(be, c_, p, model_.global_block(l), where, stream[l].cview(), stream[l + 1].view(),
                        acts[static_cast<std::size_t>(l)], &cache, {}, &weights_);
    }
    for (std::int64_t k = 0; k < n; ++k) {
      const std::int64_t s = sequences[static_cast<std::size_t>(k)];
      copy(be, g_current_.view().slice_rows(s, s + 1), stream.back().cview().slice_rows(k, k + 1));
    }
  }

  // The global stream and block activations for n fed slots, kept per n (the count varies step to step).
  std::vector<tensor_on<B, T>>& global_stream(std::int64_t n) {
    auto& stream = global_streams_[n];
    if (stream.empty()) {
      for (std::int64_t l = 0; l <= model_.config().global_layers; ++l) stream.emplace_back(shape_t{n, c_.dim});
      auto& acts = global_acts_[n];
      for (std::int64_t l = 0; l < model_.config().global_layers; ++l) acts.emplace_back(c_, n);
    }
    return stream;
  }

  // Decoder position t of every sequence: [start; H_enc(x_{t-1})], plus per layer the copy of G.
  void decoder_step(B& be) {
    const auto& p = model_.params();
    const auto& dec = model_.decoder();
    const std::int64_t t_img = model_.config().tokens;
    std::vector<std::int32_t> sources, ranges;
    std::vector<std::int64_t> rope_rows(static_cast<std::size_t>(sequences_), t_), cache_rows;
    for (std::int64_t s = 0; s < sequences_; ++s) {
      sources.push_back(t_ == 0 ? 0 : static_cast<std::int32_t>((t_ - 1) * images_ + image_of(s)));
      cache_rows.push_back(s * t_img + t_);
      ranges.push_back(static_cast<std::int32_t>(s * t_img));
      ranges.push_back(static_cast<std::int32_t>(s * t_img + t_ + 1));
    }
    const auto source_ids = upload(be, sources);
    embedding_forward(be, dec_stream_[0].view(), source_ids.cview(),
                      t_ == 0 ? const_view<T>(p[dec.start_index()]) : enc_states_.back().cview());
    const auto where = token_layout_at(be, model_.decoder_rope(), rope_rows, ranges);
    const T eps = static_cast<T>(c_.norm_eps);
    for (std::int64_t l = 0; l < dec.layers(); ++l) {
      rmsnorm_forward(be, copy_normed_.view(), copy_rstd_.view(), g_current_.cview(), p[dec.copy_norm_index(l)], eps);
      copy(be, after_copy_.view(), dec_stream_[static_cast<std::size_t>(l)].cview());
      project(be, after_copy_.view(), copy_normed_.cview(), weights_.get(be, p, dec.copy_index(l), sequences_),
              T(1));
      auto& cache = dec_caches_[static_cast<std::size_t>(l)];
      cache.write_rows = cache_rows;
      nn::block_forward(be, c_, p, dec.block(l), where, after_copy_.cview(),
                        dec_stream_[static_cast<std::size_t>(l + 1)].view(), dec_acts_[static_cast<std::size_t>(l)],
                        &cache, {}, &weights_);
    }
    rmsnorm_forward(be, final_out_.view(), final_rstd_.view(), dec_stream_.back().cview(), p[dec.final_norm_index()], eps);
    project(be, logits_.view(), final_out_.cview(), weights_.get(be, p, dec.head_index(), sequences_));
  }

  const dpar_model<B, T>& model_;
  nn::block_config c_;
  std::int64_t images_, sequences_, t_ = 0;
  std::vector<std::int32_t> labels_;                    // per sequence
  std::vector<std::vector<std::int32_t>> completed_;    // per image: lengths of the patches already fed
  std::vector<nn::block_kv_cache<B, T>> enc_caches_, global_caches_, dec_caches_;
  nn::transposed_weights<B, T> weights_;                // made on first use, a snapshot of the model's weights
  std::vector<tensor_on<B, T>> enc_states_;            // per encoder layer: block outputs of all fed tokens
  std::vector<nn::block_activations<B, T>> enc_acts_, dec_acts_;
  std::map<std::int64_t, std::vector<tensor_on<B, T>>> global_streams_;
  std::map<std::int64_t, std::vector<nn::block_activations<B, T>>> global_acts_;
  std::vector<tensor_on<B, T>> dec_stream_;
  tensor_on<B, T> enc_input_, g_current_, copy_normed_, copy_rstd_, after_copy_, final_out_, final_rstd_, logits_;
  tensor_on<B, std::int32_t> ids_;
};

}  // namespace patchzoo::dpar
