#pragma once
// The VQ image tokenizer: images [B, 1, H, W] in [-1, 1] -> encoder -> latents [B, D, h, w] ->
// vector quantizer -> normalised codes -> decoder -> reconstructions [B, 1, H, W]. The loss is the
// reconstruction MSE plus the quantizer loss. One parameter arena holds encoder, decoder and codebook.
#include <cmath>
#include <cstdint>
#include <utility>

#include "patchzoo/backend/transfer.hpp"
#include "patchzoo/train/data_parallel.hpp"
#include "patchzoo/vq/codebook_state.hpp"
#include "patchzoo/vq/conv_autoencoder.hpp"
#include "patchzoo/vq/vector_quantizer.hpp"

namespace patchzoo::vq {

struct vq_losses {
  double recon_mse = 0;  // mean over pixels on the model's [-1, 1] scale
  double quantizer = 0;  // codebook + commitment (or commitment alone with EMA)
  double total() const { return recon_mse + quantizer; }
};

template <backend B, real T>
  requires vq_ops<B, T>
class vq_tokenizer {
 public:
  vq_tokenizer(const vq_config& cfg, std::uint64_t seed)
      : cfg_((cfg.validate(), cfg)), encoder_(encoder_specs(cfg), layout_), decoder_(decoder_specs(cfg), layout_),
        quantizer_(cfg) {
    codebook_ = layout_.add("quantizer.codebook", shape_t{cfg.codebook_size, cfg.code_dim});
    params_ = nn::param_arena<B, T>(layout_);
    grads_ = nn::param_arena<B, T>(layout_);
    tensor<T> host(shape_t{layout_.total()});
    encoder_.initialize(host, layout_, seed);
    decoder_.initialize(host, layout_, seed);
    const auto& cb = layout_.slices()[codebook_];
    for (std::int64_t i = 0; i < cb.shape.numel(); ++i)
      host[cb.offset + i] = static_cast<T>(normal01(seed, static_cast<std::uint64_t>(cb.offset + i)));
    B::memory::copy_from_host(params_.flat().data, host.data(), host.bytes());
    state_ = codebook_state(cfg, normalized_codebook_host(host));
  }

  const vq_config& config() const { return cfg_; }
  const nn::param_layout& layout() const { return layout_; }
  nn::param_arena<B, T>& params() { return params_; }
  const nn::param_arena<B, T>& params() const { return params_; }
  nn::param_arena<B, T>& grads() { return grads_; }
  codebook_state& state() { return state_; }
  const codebook_state& state() const { return state_; }

  // Token grid of an image side.
  std::int64_t grid_side(std::int64_t image_side) const {
    check(image_side % cfg_.downsample == 0, "vq_tokenizer", "image side ", image_side,
          " is not a multiple of the downsample factor ", cfg_.downsample);
    return image_side / cfg_.downsample;
  }

  // Forward pass over host images [B, 1, H, W]; keeps activations for backward().
  vq_losses forward(B& be, const tensor<T>& images) {
    check(images.rank() == 4 && images.dim(1) == 1, "vq_tokenizer::forward", "images ", images.shape().str(),
          " are not [B, 1, H, W]");
    images_ = upload(be, images);
    const auto z = encoder_.forward(be, params_, images_.cview());
    for (auto* t : {&zq_, &dzq_, &dz_}) ensure_shape(*t, z.shape);
    ensure_shape(recon_diff_, images.shape());
    vq_losses l;
    l.quantizer = quantizer_.forward(be, std::as_const(params_)[codebook_], z, zq_.view());
    const auto recon = decoder_.forward(be, params_, zq_.cview());
    copy(be, recon_diff_.view(), recon);
    accumulate(be, recon_diff_.view(), images_.cview(), T(-1));
    l.recon_mse = sum_squares(be, recon_diff_.cview()) / static_cast<double>(images.numel());
    check(std::isfinite(l.total()), "vq_tokenizer::forward", "loss is not finite (reconstruction ", l.recon_mse,
          ", quantizer ", l.quantizer, ")");
    has_forward_ = true;
    return l;
  }

  // Accumulates d(total loss)/d(params) into grads(); call after forward().
  void backward(B& be) {
    check(has_forward_, "vq_tokenizer::backward", "no forward pass to differentiate");
    auto drecon = recon_diff_.view();  // the difference is dead after the loss: reuse it as the gradient
    scale(be, drecon, static_cast<T>(2.0 / static_cast<double>(drecon.numel())));
    fill(be, dzq_.view(), T(0));
    decoder_.backward(be, params_, grads_, recon_diff_.cview(), dzq_.view());
    fill(be, dz_.view(), T(0));
    quantizer_.backward(be, std::as_const(params_)[codebook_], grads_[codebook_], dzq_.cview(), dz_.view());
    encoder_.backward(be, params_, grads_, dz_.cview(), tensor_view<T>{});
    has_forward_ = false;
  }

  // After the optimizer step: records code usage, moves the codebook to its EMA (mode ema) and
  // restarts dead codes. Returns the number of codes restarted. In a data-parallel run each rank holds a shard
  // of the batch: the codes and latents of all ranks, in rank order (the global batch order), go into the
  // upkeep, so every rank keeps the same codebook state as one process would.
  std::int64_t update_codebook(B& be, std::int64_t step, std::uint64_t seed,
                               training::communicator& comm = training::single_process()) {
    const auto codes = training::gather_rows(comm, download(be, quantizer_.codes()));
    const auto zn = to_double(training::gather_rows(comm, download(be, quantizer_.normalized_latents())));
    state_.observe(codes, zn, step);
    const bool ema = cfg_.mode == quantizer_mode::ema;
    tensor<double> codebook = ema ? state_.ema_codebook() : to_double(download(be, std::as_const(params_)[codebook_]));
    const std::int64_t restarted = state_.restart_dead(codebook, zn, step, seed);
    if (ema || restarted > 0) {
      tensor<T> host(codebook.shape());
      for (std::int64_t i = 0; i < host.numel(); ++i) host[i] = static_cast<T>(codebook[i]);
      be.synchronize();
      B::memory::copy_from_host(params_[codebook_].data, host.data(), host.bytes());
    }
    return restarted;
  }

  // Token ids [B, h, w] of host images [B, 1, H, W].
  tensor<std::int32_t> encode(B& be, const tensor<T>& images) {
    images_ = upload(be, images);
    const auto z = encoder_.forward(be, params_, images_.cview());
    ensure_shape(zq_, z.shape);
    quantizer_.forward(be, std::as_const(params_)[codebook_], z, zq_.view());
    auto codes = download(be, quantizer_.codes());
    return tensor<std::int32_t>(shape_t{z.shape[0], z.shape[2], z.shape[3]}, codes.to_vector());
  }

  // Images [B, 1, H, W] decoded from token ids [B, h, w].
  tensor<T> decode(B& be, const tensor<std::int32_t>& codes) {
    check(codes.rank() == 3, "vq_tokenizer::decode", "codes ", codes.shape().str(), " are not [B, h, w]");
    const std::int64_t b = codes.dim(0), h = codes.dim(1), w = codes.dim(2), d = cfg_.code_dim;
    const auto ids = upload(be, codes.cview().reshape(shape_t{b * h * w}));
    quantizer_.normalize_codebook(be, std::as_const(params_)[codebook_]);
    tensor_on<B, T> rows(shape_t{b * h * w, d}), zq(shape_t{b, d, h, w});
    embedding_forward(be, rows.view(), ids.cview(), quantizer_.normalized_codebook().cview());
    transpose_last2(be, zq.view().reshape(shape_t{b, d, h * w}), rows.cview().reshape(shape_t{b, h * w, d}), false);
    return download(be, decoder_.forward(be, params_, zq.cview()));
  }

  // Encode then decode: what the tokenizer keeps of the images.
  tensor<T> reconstruct(B& be, const tensor<T>& images) { return decode(be, encode(be, images)); }

 private:
  static void ensure_shape(tensor_on<B, T>& t, const shape_t& s) {
    if (t.data() == nullptr || !(t.shape() == s)) t = tensor_on<B, T>(s);
  }

  static tensor<double> to_double(const tensor<T>& t) {
    tensor<double> d(t.shape());
    for (std::int64_t i = 0; i < t.numel(); ++i) d[i] = static_cast<double>(t[i]);
    return d;
  }

  tensor<double> normalized_codebook_host(const tensor<T>& host) const {
    const auto& cb = layout_.slices()[codebook_];
    const std::int64_t d = cfg_.code_dim;
    tensor<double> out(cb.shape);
    for (std::int64_t k = 0; k < cfg_.codebook_size; ++k) {
      double n2 = 0;
      for (std::int64_t j = 0; j < d; ++j) n2 += static_cast<double>(host[cb.offset + k * d + j]) * host[cb.offset + k * d + j];
      for (std::int64_t j = 0; j < d; ++j) out[k * d + j] = host[cb.offset + k * d + j] / std::sqrt(n2 + 1e-30);
    }
    return out;
  }

  vq_config cfg_;
  nn::param_layout layout_;
  conv_stack<B, T> encoder_, decoder_;
  vector_quantizer<B, T> quantizer_;
  std::size_t codebook_ = 0;
  nn::param_arena<B, T> params_, grads_;
  codebook_state state_;

  tensor_on<B, T> images_, zq_, dzq_, dz_, recon_diff_;
  bool has_forward_ = false;
};

}  // namespace patchzoo::vq
