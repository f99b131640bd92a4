#pragma once
// LlamaGen's vector quantizer on a backend: latents z[B, D, h, w] become rows [B*h*w, D], rows and
// codebook are l2-normalised (RMSNorm with unit gain times 1/sqrt(D) is x / ||x||, with an exact
// backward), each row takes the code of largest cosine similarity, and the decoder receives the
// normalised code. Gradients: straight-through (the decoder's gradient reaches z_n unchanged), plus
//   codebook loss  mean(||sg(z_n) - e_n||^2)  (mode loss only)  and  beta * mean(||z_n - sg(e_n)||^2).
#include <cmath>
#include <cstdint>

#include "patchzoo/nn/param_arena.hpp"
#include "patchzoo/vq/vq_config.hpp"

namespace patchzoo::vq {

template <backend B, real T>
  requires vq_ops<B, T>
class vector_quantizer {
 public:
  vector_quantizer() = default;
  explicit vector_quantizer(const vq_config& cfg) : cfg_(cfg), unit_(shape_t{cfg.code_dim}) {}

  // The codebook l2-normalised into en (also used by decoding from token ids).
  void normalize_codebook(B& be, const_view<T> codebook) {
    prepare_codebook();
    fill(be, unit_.view(), static_cast<T>(1.0 / std::sqrt(static_cast<double>(cfg_.code_dim))));
    rmsnorm_forward(be, en_.view(), rstd_e_.view(), codebook, unit_.cview(), static_cast<T>(cfg_.norm_eps));
  }

  // z [B, D, h, w] -> zq [B, D, h, w] (the chosen normalised codes); codes() holds the ids [B*h*w].
  // Returns the quantizer loss: (1 + beta) or (ema) beta times mean ||z_n - e_n||^2 over elements.
  double forward(B& be, const_view<T> codebook, const_view<T> z, tensor_view<T> zq) {
    check(z.rank() == 4 && z.dim(1) == cfg_.code_dim, "vector_quantizer", "latents ", z.shape.str(),
          " are not [B, ", cfg_.code_dim, ", h, w]");
    expect_shape("vector_quantizer", "zq", zq, z.shape);
    prepare(z.shape);
    const std::int64_t b = z.dim(0), d = z.dim(1), hw = z.dim(2) * z.dim(3), n = b * hw;
    transpose_last2(be, zr_.view().reshape(shape_t{b, hw, d}), z.reshape(shape_t{b, d, hw}), false);
    normalize_codebook(be, codebook);
    rmsnorm_forward(be, zn_.view(), rstd_z_.view(), zr_.cview(), unit_.cview(), static_cast<T>(cfg_.norm_eps));
    matmul(be, scores_.view(), zn_.cview(), en_.cview(), false, true, T(1), T(0));
    row_argmax(be, codes_.view(), scores_.cview());
    embedding_forward(be, q_.view(), codes_.cview(), en_.cview());
    transpose_last2(be, zq.reshape(shape_t{b, d, hw}), q_.cview().reshape(shape_t{b, hw, d}), false);
    copy(be, diff_.view(), q_.cview());
    accumulate(be, diff_.view(), zn_.cview(), T(-1));  // diff = e_n - z_n
    const double mse = sum_squares(be, diff_.cview()) / static_cast<double>(n * d);
    return (cfg_.mode == quantizer_mode::loss ? 1.0 + cfg_.beta : cfg_.beta) * mse;
  }

  // dzq: the decoder's gradient w.r.t. zq. Accumulates into dz [B, D, h, w] and, in loss mode, into
  // dcodebook [K, D] (skipped when empty).
  void backward(B& be, const_view<T> codebook, tensor_view<T> dcodebook, const_view<T> dzq, tensor_view<T> dz) {
    check(zn_.data() != nullptr, "vector_quantizer::backward", "no forward pass to differentiate");
    expect_shape("vector_quantizer::backward", "dzq", dzq, shape_);
    const std::int64_t b = shape_[0], d = shape_[1], hw = shape_[2] * shape_[3];
    const double per_element = 2.0 / static_cast<double>(b * hw * d);
    fill(be, dzn_.view(), T(0));
    transpose_last2(be, dzn_.view().reshape(shape_t{b, hw, d}), dzq.reshape(shape_t{b, d, hw}), true);
    accumulate(be, dzn_.view(), diff_.cview(), static_cast<T>(-cfg_.beta * per_element));
    if (cfg_.mode == quantizer_mode::loss && !dcodebook.empty()) {
      copy(be, dq_.view(), diff_.cview());
      scale(be, dq_.view(), static_cast<T>(per_element));
      fill(be, den_.view(), T(0));
      embedding_backward(be, den_.view(), dq_.cview(), codes_.cview());
      rmsnorm_backward(be, dcodebook, tensor_view<T>{}, den_.cview(), codebook, unit_.cview(), rstd_e_.cview());
    }
    fill(be, dzr_.view(), T(0));
    rmsnorm_backward(be, dzr_.view(), tensor_view<T>{}, dzn_.cview(), zr_.cview(), unit_.cview(), rstd_z_.cview());
    transpose_last2(be, dz.reshape(shape_t{b, d, hw}), dzr_.cview().reshape(shape_t{b, hw, d}), true);
  }

  const tensor_on<B, std::int32_t>& codes() const { return codes_; }
  const tensor_on<B, T>& normalized_latents() const { return zn_; }  // [B*h*w, D]
  const tensor_on<B, T>& normalized_codebook() const { return en_; }  // [K, D]

 private:
  void prepare_codebook() {
    if (en_.data() != nullptr) return;
    en_ = tensor_on<B, T>(shape_t{cfg_.codebook_size, cfg_.code_dim});
    den_ = tensor_on<B, T>(shape_t{cfg_.codebook_size, cfg_.code_dim});
    rstd_e_ = tensor_on<B, T>(shape_t{cfg_.codebook_size});
  }

  void prepare(const shape_t& z) {
    if (zn_.data() != nullptr && z == shape_) return;
    shape_ = z;
    const std::int64_t n = z[0] * z[2] * z[3], d = cfg_.code_dim;
    for (auto* t : {&zr_, &zn_, &q_, &diff_, &dzn_, &dzr_, &dq_}) *t = tensor_on<B, T>(shape_t{n, d});
    rstd_z_ = tensor_on<B, T>(shape_t{n});
    scores_ = tensor_on<B, T>(shape_t{n, cfg_.codebook_size});
    codes_ = tensor_on<B, std::int32_t>(shape_t{n});
  }

  vq_config cfg_;
  shape_t shape_;
  tensor_on<B, T> unit_, en_, den_, rstd_e_;
  tensor_on<B, T> zr_, zn_, rstd_z_, scores_, q_, diff_, dzn_, dzr_, dq_;
  tensor_on<B, std::int32_t> codes_;
};

}  // namespace patchzoo::vq
