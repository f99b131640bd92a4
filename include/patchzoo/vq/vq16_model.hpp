#pragma once
// LlamaGen's VQ-16 image tokenizer (tokenizer/tokenizer_image/vq_model.py, VQ_16), inference only:
//   encode: images [N, 3, H, W] -> Encoder -> quant_conv (1x1, z_channels -> codebook_dim) -> latents
//           [N, D, h, w] -> nearest l2-normalised code (argmax cosine) -> codes [N, h, w]
//   decode: codes -> l2-normalised codebook rows [N, D, h, w] -> post_quant_conv (1x1) -> Decoder -> images
// with h = H / 2^(levels - 1). The parameters carry LlamaGen's state-dict names unchanged
// (encoder.conv_blocks.L.res.M.norm1.weight, ..., quantize.embedding.weight), so a converted checkpoint
// maps one to one (scripts/convert-llamagen --kind vq, vq16_import.hpp; docs/interop.md).
// Blocks: ResnetBlock = norm1 (GroupNorm) swish conv1 3x3, norm2 swish conv2 3x3, + x (through a 1x1
// nin_shortcut when the channel count changes); AttnBlock = GroupNorm, 1x1 q k v, softmax(q^T k c^-1/2) over
// the h w positions, 1x1 proj_out, + x; Downsample = pad (0, 1, 0, 1) then 3x3 stride 2; Upsample = nearest
// x2 then 3x3. The encoder has attention at its last level, the decoder at its first (both the deepest).
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "patchzoo/backend/transfer.hpp"
#include "patchzoo/nn/param_arena.hpp"
#include "patchzoo/vq/vector_quantizer.hpp"
#include "patchzoo/vq/vq_config.hpp"

namespace patchzoo::vq {

struct vq16_config {
  std::int64_t in_channels = 3;
  std::int64_t ch = 128;
  std::vector<std::int64_t> ch_mult{1, 1, 2, 2, 4};
  std::int64_t num_res_blocks = 2;  // per encoder level; the decoder has one more per level
  std::int64_t z_channels = 256;
  std::int64_t codebook_size = 16384;
  std::int64_t codebook_dim = 8;
  int groups = 32;          // GroupNorm(32, C, eps 1e-6, affine)
  double norm_eps = 1e-6;
  // Levels with AttnBlocks after each ResnetBlock (LlamaGen: the encoder's last, the decoder's first).
  std::vector<std::int64_t> encoder_attn_levels{4};
  std::vector<std::int64_t> decoder_attn_levels{0};

  std::int64_t levels() const { return static_cast<std::int64_t>(ch_mult.size()); }
  std::int64_t downsample() const { return std::int64_t{1} << (levels() - 1); }

  // LlamaGen's attention placement for a given ch_mult.
  static vq16_config llamagen(std::int64_t ch, std::vector<std::int64_t> ch_mult, std::int64_t num_res_blocks,
                              std::int64_t z_channels, std::int64_t codebook_size, std::int64_t codebook_dim) {
    vq16_config c;
    c.ch = ch;
    c.ch_mult = std::move(ch_mult);
    c.num_res_blocks = num_res_blocks;
    c.z_channels = z_channels;
    c.codebook_size = codebook_size;
    c.codebook_dim = codebook_dim;
    c.encoder_attn_levels = {c.levels() - 1};
    c.decoder_attn_levels = {0};
    return c;
  }

  void validate() const {
    const char* op = "vq16_config";
    check(levels() >= 1 && levels() <= 8, op, "ch_mult has ", levels(), " levels (1 .. 8 allowed)");
    check(in_channels >= 1 && ch >= 1 && num_res_blocks >= 1 && z_channels >= 1, op, "in_channels ", in_channels,
          ", ch ", ch, ", num_res_blocks ", num_res_blocks, ", z_channels ", z_channels, " must be positive");
    check(groups >= 1 && norm_eps > 0, op, "groups ", groups, " and norm_eps ", norm_eps, " must be positive");
    for (const auto m : ch_mult)
      check(m >= 1 && (ch * m) % groups == 0, op, "channel count ch * ", m, " = ", ch * m,
            " is not a positive multiple of the ", groups, " GroupNorm groups");
    check(codebook_size >= 2 && codebook_size <= 65536 && codebook_dim >= 1, op, "codebook ", codebook_size, " x ",
          codebook_dim, " is invalid (2 .. 65536 codes)");
    for (const auto* v : {&encoder_attn_levels, &decoder_attn_levels})
      for (const auto l : *v) check(l >= 0 && l < levels(), op, "attention level ", l, " is outside 0 .. ", levels() - 1);
  }
};

namespace vq16_detail {
inline bool contains(const std::vector<std::int64_t>& v, std::int64_t x) {
  for (const auto y : v)
    if (y == x) return true;
  return false;
}
}  // namespace vq16_detail

template <backend B, real T>
  requires vq_ops<B, T>
class vq16_model {
 public:
  using act = tensor_on<B, T>;

  explicit vq16_model(vq16_config cfg) : cfg_((cfg.validate(), std::move(cfg))) {
    build();
    params_ = nn::param_arena<B, T>(layout_);
    vq_config q;
    q.codebook_size = cfg_.codebook_size;
    q.code_dim = cfg_.codebook_dim;
    quantizer_ = vector_quantizer<B, T>(q);
  }

  const vq16_config& config() const { return cfg_; }
  const nn::param_layout& layout() const { return layout_; }
  nn::param_arena<B, T>& params() { return params_; }
  const nn::param_arena<B, T>& params() const { return params_; }

  // images [N, in_channels, H, W], H and W multiples of downsample() -> quant_conv output [N, D, h, w].
  act encode_latents(B& be, const_view<T> images) {
    check(images.rank() == 4 && images.dim(1) == cfg_.in_channels && images.dim(2) % cfg_.downsample() == 0 &&
              images.dim(3) % cfg_.downsample() == 0 && images.dim(2) > 0 && images.dim(3) > 0,
          "vq16_model::encode", "images ", images.shape.str(), " are not [N, ", cfg_.in_channels,
          ", H, W] with H and W multiples of ", cfg_.downsample());
    act h = conv(be, enc_in_, images);
    for (std::size_t l = 0; l < enc_levels_.size(); ++l) {
      const auto& lv = enc_levels_[l];
      for (std::size_t i = 0; i < lv.res.size(); ++i) {
        h = res(be, lv.res[i], h.cview());
        if (!lv.attn.empty()) h = attn(be, lv.attn[i], h.cview());
      }
      if (lv.has_resample) {
        act p(shape_t{h.shape()[0], h.shape()[1], h.shape()[2] + 1, h.shape()[3] + 1});
        pad2d_forward(be, p.view(), h.cview(), pad2d_params{0, 1, 0, 1});
        h = conv(be, lv.resample, p.cview());
      }
    }
    h = res(be, enc_mid_res_[0], h.cview());
    h = attn(be, enc_mid_attn_, h.cview());
    h = res(be, enc_mid_res_[1], h.cview());
    h = norm_swish(be, enc_norm_out_, h.cview());
    h = conv(be, enc_out_, h.cview());
    return conv(be, quant_conv_, h.cview());
  }

  // Host images [N, in_channels, H, W] -> codes [N, h, w]: the nearest l2-normalised code of each latent.
  // `latents`, when given, receives the quant_conv output [N, D, h, w] the codes were chosen from.
  tensor<std::int32_t> encode(B& be, const tensor<T>& images, tensor<T>* latents = nullptr) {
    const act x = upload(be, images);
    const act z = encode_latents(be, x.cview());
    if (latents != nullptr) *latents = download(be, z);
    act zq(z.shape());
    quantizer_.forward(be, std::as_const(params_)[codebook_], z.cview(), zq.view());
    const auto codes = download(be, quantizer_.codes());
    return tensor<std::int32_t>(shape_t{z.shape()[0], z.shape()[2], z.shape()[3]}, codes.to_vector());
  }

  // Host codes [N, h, w] (each in [0, codebook_size)) -> images [N, in_channels, h * downsample, w * downsample].
  tensor<T> decode(B& be, const tensor<std::int32_t>& codes) {
    check(codes.rank() == 3 && codes.numel() > 0, "vq16_model::decode", "codes ", codes.shape().str(),
          " are not [N, h, w]");
    const std::int64_t n = codes.dim(0), hw = codes.dim(1) * codes.dim(2), d = cfg_.codebook_dim;
    const auto ids = upload(be, codes.cview().reshape(shape_t{n * hw}));
    quantizer_.normalize_codebook(be, std::as_const(params_)[codebook_]);
    act rows(shape_t{n * hw, d});
    embedding_forward(be, rows.view(), ids.cview(), quantizer_.normalized_codebook().cview());
    act zq(shape_t{n, d, codes.dim(1), codes.dim(2)});
    transpose_last2(be, zq.view().reshape(shape_t{n, d, hw}), rows.cview().reshape(shape_t{n, hw, d}), false);
    return download(be, decode_latents(be, zq.cview()));
  }

  // zq [N, D, h, w] (normalised codes) -> images.
  act decode_latents(B& be, const_view<T> zq) {
    check(zq.rank() == 4 && zq.dim(1) == cfg_.codebook_dim, "vq16_model::decode", "latents ", zq.shape.str(),
          " are not [N, ", cfg_.codebook_dim, ", h, w]");
    act h = conv(be, post_quant_conv_, zq);
    h = conv(be, dec_in_, h.cview());
    h = res(be, dec_mid_res_[0], h.cview());
    h = attn(be, dec_mid_attn_, h.cview());
    h = res(be, dec_mid_res_[1], h.cview());
    for (const auto& lv : dec_levels_) {
      for (std::size_t i = 0; i < lv.res.size(); ++i) {
        h = res(be, lv.res[i], h.cview());
        if (!lv.attn.empty()) h = attn(be, lv.attn[i], h.cview());
      }
      if (lv.has_resample) {
        act u(shape_t{h.shape()[0], h.shape()[1], 2 * h.shape()[2], 2 * h.shape()[3]});
        upsample_nearest2x_forward(be, u.view(), h.cview());
        h = conv(be, lv.resample, u.cview());
      }
    }
    h = norm_swish(be, dec_norm_out_, h.cview());
    return conv(be, dec_out_, h.cview());
  }

 private:
  struct conv_p {
    std::size_t w = 0, b = 0;
    std::int64_t cin = 0, cout = 0;
    int k = 1;
    conv2d_params p{};
  };
  struct norm_p {
    std::size_t w = 0, b = 0;
  };
  struct res_p {
    norm_p norm1, norm2;
    conv_p conv1, conv2, nin;
    bool shortcut = false;
  };
  struct attn_p {
    norm_p norm;
    conv_p q, k, v, proj;
  };
  struct level_p {
    std::vector<res_p> res;
    std::vector<attn_p> attn;
    bool has_resample = false;
    conv_p resample;  // downsample.conv / upsample.conv
  };

  conv_p add_conv(const std::string& name, std::int64_t cin, std::int64_t cout, int k, conv2d_params p) {
    conv_p c{layout_.add(name + ".weight", shape_t{cout, cin, k, k}), layout_.add(name + ".bias", shape_t{cout}),
             cin, cout, k, p};
    return c;
  }
  norm_p add_norm(const std::string& name, std::int64_t c) {
    return {layout_.add(name + ".weight", shape_t{c}), layout_.add(name + ".bias", shape_t{c})};
  }
  res_p add_res(const std::string& name, std::int64_t cin, std::int64_t cout) {
    res_p r;
    r.norm1 = add_norm(name + ".norm1", cin);
    r.conv1 = add_conv(name + ".conv1", cin, cout, 3, {1, 1});
    r.norm2 = add_norm(name + ".norm2", cout);
    r.conv2 = add_conv(name + ".conv2", cout, cout, 3, {1, 1});
    r.shortcut = cin != cout;
    if (r.shortcut) r.nin = add_conv(name + ".nin_shortcut", cin, cout, 1, {1, 0});
    return r;
  }
  attn_p add_attn(const std::string& name, std::int64_t c) {
    attn_p a;
    a.norm = add_norm(name + ".norm", c);
    a.q = add_conv(name + ".q", c, c, 1, {1, 0});
    a.k = add_conv(name + ".k", c, c, 1, {1, 0});
    a.v = add_conv(name + ".v", c, c, 1, {1, 0});
    a.proj = add_conv(name + ".proj_out", c, c, 1, {1, 0});
    return a;
  }

  // The parameters in LlamaGen's state-dict order (module registration order).
  void build() {
    const std::int64_t levels = cfg_.levels(), ch = cfg_.ch;
    enc_in_ = add_conv("encoder.conv_in", cfg_.in_channels, ch, 3, {1, 1});
    std::int64_t block_in = ch;
    for (std::int64_t l = 0; l < levels; ++l) {
      level_p lv;
      const std::string p = "encoder.conv_blocks." + std::to_string(l);
      const std::int64_t block_out = ch * cfg_.ch_mult[static_cast<std::size_t>(l)];
      const bool with_attn = vq16_detail::contains(cfg_.encoder_attn_levels, l);
      for (std::int64_t i = 0; i < cfg_.num_res_blocks; ++i) {
        lv.res.push_back(add_res(p + ".res." + std::to_string(i), block_in, block_out));
        block_in = block_out;
      }
      // Registered after the res list, as LlamaGen's conv_block.res / conv_block.attn assignments order them.
      if (with_attn)
        for (std::int64_t i = 0; i < cfg_.num_res_blocks; ++i)
          lv.attn.push_back(add_attn(p + ".attn." + std::to_string(i), block_in));
      if (l != levels - 1) {
        lv.has_resample = true;
        lv.resample = add_conv(p + ".downsample.conv", block_in, block_in, 3, {2, 0});
      }
      enc_levels_.push_back(std::move(lv));
    }
    enc_mid_res_[0] = add_res("encoder.mid.0", block_in, block_in);
    enc_mid_attn_ = add_attn("encoder.mid.1", block_in);
    enc_mid_res_[1] = add_res("encoder.mid.2", block_in, block_in);
    enc_norm_out_ = add_norm("encoder.norm_out", block_in);
    enc_out_ = add_conv("encoder.conv_out", block_in, cfg_.z_channels, 3, {1, 1});

    block_in = ch * cfg_.ch_mult.back();
    dec_in_ = add_conv("decoder.conv_in", cfg_.z_channels, block_in, 3, {1, 1});
    dec_mid_res_[0] = add_res("decoder.mid.0", block_in, block_in);
    dec_mid_attn_ = add_attn("decoder.mid.1", block_in);
    dec_mid_res_[1] = add_res("decoder.mid.2", block_in, block_in);
    for (std::int64_t l = 0; l < levels; ++l) {
      level_p lv;
      const std::string p = "decoder.conv_blocks." + std::to_string(l);
      const std::int64_t block_out = ch * cfg_.ch_mult[static_cast<std::size_t>(levels - 1 - l)];
      const bool with_attn = vq16_detail::contains(cfg_.decoder_attn_levels, l);
      for (std::int64_t i = 0; i <= cfg_.num_res_blocks; ++i) {
        lv.res.push_back(add_res(p + ".res." + std::to_string(i), block_in, block_out));
        block_in = block_out;
      }
      if (with_attn)
        for (std::int64_t i = 0; i <= cfg_.num_res_blocks; ++i)
          lv.attn.push_back(add_attn(p + ".attn." + std::to_string(i), block_in));
      if (l != levels - 1) {
        lv.has_resample = true;
        lv.resample = add_conv(p + ".upsample.conv", block_in, block_in, 3, {1, 1});
      }
      dec_levels_.push_back(std::move(lv));
    }
    dec_norm_out_ = add_norm("decoder.norm_out", block_in);
    dec_out_ = add_conv("decoder.conv_out", block_in, cfg_.in_channels, 3, {1, 1});

    quant_conv_ = add_conv("quant_conv", cfg_.z_channels, cfg_.codebook_dim, 1, {1, 0});
    post_quant_conv_ = add_conv("post_quant_conv", cfg_.codebook_dim, cfg_.z_channels, 1, {1, 0});
    codebook_ = layout_.add("quantize.embedding.weight", shape_t{cfg_.codebook_size, cfg_.codebook_dim});
  }

  const_view<T> cparam(std::size_t i) const { return params_[i]; }

  act conv(B& be, const conv_p& c, const_view<T> x) {
    const auto size = [&](std::int64_t s) { return (s + 2 * c.p.padding - c.k) / c.p.stride + 1; };
    act out(shape_t{x.dim(0), c.cout, size(x.dim(2)), size(x.dim(3))});
    conv2d_forward(be, out.view(), x, cparam(c.w), cparam(c.b), c.p);
    return out;
  }

  act norm(B& be, const norm_p& nm, const_view<T> x) {
    act out(x.shape);
    act mean(shape_t{x.dim(0), cfg_.groups}), rstd(shape_t{x.dim(0), cfg_.groups});
    group_norm_forward(be, out.view(), mean.view(), rstd.view(), x, cparam(nm.w), cparam(nm.b), cfg_.groups,
                       static_cast<T>(cfg_.norm_eps));
    return out;
  }

  act norm_swish(B& be, const norm_p& nm, const_view<T> x) {
    const act h = norm(be, nm, x);
    act out(h.shape());
    silu_forward(be, out.view(), h.cview());
    return out;
  }

  act res(B& be, const res_p& r, const_view<T> x) {
    act h = norm_swish(be, r.norm1, x);
    h = conv(be, r.conv1, h.cview());
    h = norm_swish(be, r.norm2, h.cview());
    h = conv(be, r.conv2, h.cview());  // dropout is the identity at inference
    if (r.shortcut) {
      const act s = conv(be, r.nin, x);
      add(be, h.view(), h.cview(), s.cview());
    } else {
      add(be, h.view(), h.cview(), x);
    }
    return h;
  }

  act attn(B& be, const attn_p& a, const_view<T> x) {
    const std::int64_t n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
    const act h = norm(be, a.norm, x);
    const act q = conv(be, a.q, h.cview()), k = conv(be, a.k, h.cview()), v = conv(be, a.v, h.cview());
    const shape_t flat{n, c, hw};
    act w(shape_t{n, hw, hw});  // w[b, i, j] = c^-1/2 sum_c q[b, c, i] k[b, c, j], softmax over j
    matmul(be, w.view(), q.cview().reshape(flat), k.cview().reshape(flat), true, false,
           static_cast<T>(1.0 / std::sqrt(static_cast<double>(c))), T(0));
    act p(shape_t{n * hw, hw});
    softmax_forward(be, p.view(), w.cview().reshape(shape_t{n * hw, hw}));
    act o(x.shape);  // o[b, c, i] = sum_j v[b, c, j] p[b, i, j]
    matmul(be, o.view().reshape(flat), v.cview().reshape(flat), p.cview().reshape(shape_t{n, hw, hw}), false, true,
           T(1), T(0));
    act out = conv(be, a.proj, o.cview());
    add(be, out.view(), out.cview(), x);
    return out;
  }

  vq16_config cfg_;
  nn::param_layout layout_;
  nn::param_arena<B, T> params_;
  vector_quantizer<B, T> quantizer_;
  conv_p enc_in_, enc_out_, dec_in_, dec_out_, quant_conv_, post_quant_conv_;
  std::vector<level_p> enc_levels_, dec_levels_;
  res_p enc_mid_res_[2], dec_mid_res_[2];
  attn_p enc_mid_attn_, dec_mid_attn_;
  norm_p enc_norm_out_, dec_norm_out_;
  std::size_t codebook_ = 0;
};

}  // namespace patchzoo::vq
