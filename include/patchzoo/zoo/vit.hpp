#pragma once
// A small vision transformer: the 28x28 image is cut into (28/p)^2 patches of p x p pixels (on the
// host: the images arrive there), each patch is a token embedded by a linear layer, 2-D RoPE gives the
// tokens their grid position, LLaMA blocks attend fully within each image (block_ranges), and the
// tokens of each image are mean-pooled, RMS-normalised and scored by a linear head.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "patchzoo/backend/transfer.hpp"
#include "patchzoo/nn/llama_block.hpp"
#include "patchzoo/nn/rope_table.hpp"
#include "patchzoo/ops/attention_ranges.hpp"
#include "patchzoo/zoo/classifier.hpp"
#include "patchzoo/zoo/parameter_layout.hpp"

namespace patchzoo::zoo {

template <backend B, real T>
  requires transformer_ops<B, T>
class vit_classifier final : public classifier<B, T> {
 public:
  struct activations final : workspace {
    std::int64_t batch = -1;
    tensor_on<B, T> patches;                // [N, p*p], N = batch * tokens per image
    nn::token_layout<B, T> where;           // 2-D RoPE tables and per-image attention ranges
    tensor_on<B, T> pool;                   // [batch, N]: 1/tokens on each image's own tokens
    std::vector<tensor_on<B, T>> stream;    // [N, dim] before each block and after the last
    std::vector<nn::block_activations<B, T>> blocks;
    nn::block_scratch<B, T> scratch;
    tensor_on<B, T> pooled, normed, rstd, logits;          // [batch, dim] x2, [batch], [batch, 10]
    tensor_on<B, T> dstream[2], dpooled, dnormed, dlogits;
  };

  vit_classifier(vit_spec spec, std::uint64_t seed)
      : spec_(spec), arch_(spec), cfg_(vit_block_config(spec)), slots_(add_vit_parameters(layout_, spec)) {
    side_ = image_side / spec.patch;  // after add_vit_parameters has validated the patch
    params_ = nn::param_arena<B, T>(layout_);
    grads_ = nn::param_arena<B, T>(layout_);
    initialize_classifier(params_, seed);
  }

  const architecture& spec() const override { return arch_; }
  const nn::param_layout& layout() const override { return layout_; }
  nn::param_arena<B, T>& params() override { return params_; }
  const nn::param_arena<B, T>& params() const override { return params_; }
  nn::param_arena<B, T>& grads() override { return grads_; }

  std::unique_ptr<workspace> make_workspace() const override { return std::make_unique<activations>(); }

  std::int64_t tokens_per_image() const { return side_ * side_; }

  const_view<T> forward(B& be, const tensor<T>& images, workspace& ws) const override {
    auto& a = dynamic_cast<activations&>(ws);
    check(images.rank() == 4 && images.dim(1) == 1 && images.dim(2) == image_side && images.dim(3) == image_side,
          "vit_classifier::forward", "images have shape ", images.shape().str(), ", expected [B, 1, ", image_side,
          ", ", image_side, "]");
    prepare(be, a, images.dim(0));
    a.patches = upload(be, patchify(images));
    const auto& p = params_;
    linear_forward(be, a.stream[0].view(), a.patches.cview(), p[slots_.embed_w], p[slots_.embed_b]);
    for (std::size_t l = 0; l < slots_.blocks.size(); ++l)
      nn::block_forward(be, cfg_, p, slots_.blocks[l], a.where, a.stream[l].cview(), a.stream[l + 1].view(),
                        a.blocks[l]);
    matmul(be, a.pooled.view(), a.pool.cview(), a.stream.back().cview(), false, false, T(1), T(0));
    rmsnorm_forward(be, a.normed.view(), a.rstd.view(), a.pooled.cview(), p[slots_.norm],
                    static_cast<T>(cfg_.norm_eps));
    linear_forward(be, a.logits.view(), a.normed.cview(), p[slots_.head_w], p[slots_.head_b]);
    return a.logits.cview();
  }

  tensor_view<T> logits_grad(workspace& ws) const override { return dynamic_cast<activations&>(ws).dlogits.view(); }

  void backward(B& be, workspace& ws, nn::param_arena<B, T>& g) const override {
    auto& a = dynamic_cast<activations&>(ws);
    check(a.batch > 0, "vit_classifier::backward", "no forward pass to differentiate");
    const auto& p = params_;
    fill(be, a.dnormed.view(), T(0));
    linear_backward(be, a.dnormed.view(), g[slots_.head_w], g[slots_.head_b], a.dlogits.cview(), a.normed.cview(),
                    p[slots_.head_w]);
    fill(be, a.dpooled.view(), T(0));
    rmsnorm_backward(be, a.dpooled.view(), g[slots_.norm], a.dnormed.cview(), a.pooled.cview(), p[slots_.norm],
                     a.rstd.cview());
    auto* dy = &a.dstream[0];
    auto* dx = &a.dstream[1];
    matmul(be, dy->view(), a.pool.cview(), a.dpooled.cview(), true, false, T(1), T(0));  // pooling's transpose
    for (std::size_t l = slots_.blocks.size(); l-- > 0;) {
      fill(be, dx->view(), T(0));
      nn::block_backward(be, cfg_, p, g, slots_.blocks[l], a.where, a.stream[l].cview(), dy->cview(), dx->view(),
                         a.blocks[l], a.scratch);
      std::swap(dy, dx);
    }
    linear_backward(be, tensor_view<T>(), g[slots_.embed_w], g[slots_.embed_b], dy->cview(), a.patches.cview(),
                    p[slots_.embed_w]);
  }

  // The normalised pooled token, the head's input: [B, dim].
  const_view<T> features(const workspace& ws) const override { return dynamic_cast<const activations&>(ws).normed.cview(); }

  std::int64_t flops() const override {
    const std::int64_t n = tokens_per_image(), d = spec_.dim, f = spec_.ffn_hidden;
    const std::int64_t per_block = 2 * n * (3 * d * d + d * d + 3 * d * f) + 2 * 2 * n * n * d;
    return 2 * n * spec_.patch * spec_.patch * d + spec_.layers * per_block + 2 * n * d + 2 * d * class_count;
  }

 private:
  // [B, 1, 28, 28] -> [B * tokens, p * p], tokens in row-major grid order.
  tensor<T> patchify(const tensor<T>& images) const {
    const std::int64_t batch = images.dim(0), ps = spec_.patch, n = tokens_per_image();
    tensor<T> out(shape_t{batch * n, ps * ps});
    for (std::int64_t b = 0; b < batch; ++b)
      for (std::int64_t gy = 0; gy < side_; ++gy)
        for (std::int64_t gx = 0; gx < side_; ++gx) {
          T* dst = out.data() + ((b * n) + gy * side_ + gx) * ps * ps;
          for (std::int64_t y = 0; y < ps; ++y)
            for (std::int64_t x = 0; x < ps; ++x)
              dst[y * ps + x] = images[b * image_side * image_side + (gy * ps + y) * image_side + gx * ps + x];
        }
    return out;
  }

  void prepare(B& be, activations& a, std::int64_t batch) const {
    if (a.batch == batch) return;
    const std::int64_t n = tokens_per_image(), total = batch * n, d = spec_.dim;
    std::vector<std::int64_t> rows, cols;
    std::vector<std::int32_t> offsets{0};
    tensor<T> pool(shape_t{batch, total});
    for (std::int64_t b = 0; b < batch; ++b) {
      for (std::int64_t t = 0; t < n; ++t) {
        rows.push_back(t / side_);
        cols.push_back(t % side_);
        pool[b * total + b * n + t] = static_cast<T>(1.0 / static_cast<double>(n));
      }
      offsets.push_back(static_cast<std::int32_t>((b + 1) * n));
    }
    auto table = nn::rope_table_2d<T>(rows, cols, static_cast<int>(cfg_.head_dim()));
    a.where = {upload(be, table.cos), upload(be, table.sin), upload(be, block_ranges(offsets))};
    a.pool = upload(be, pool);
    a.stream.clear();
    a.blocks.clear();
    for (std::int64_t l = 0; l <= spec_.layers; ++l) a.stream.emplace_back(shape_t{total, d});
    for (std::int64_t l = 0; l < spec_.layers; ++l) a.blocks.emplace_back(cfg_, total);
    a.scratch = nn::block_scratch<B, T>(cfg_, total);
    a.pooled = tensor_on<B, T>(shape_t{batch, d});
    a.normed = tensor_on<B, T>(shape_t{batch, d});
    a.rstd = tensor_on<B, T>(shape_t{batch});
    a.logits = tensor_on<B, T>(shape_t{batch, class_count});
    a.dstream[0] = tensor_on<B, T>(shape_t{total, d});
    a.dstream[1] = tensor_on<B, T>(shape_t{total, d});
    a.dpooled = tensor_on<B, T>(shape_t{batch, d});
    a.dnormed = tensor_on<B, T>(shape_t{batch, d});
    a.dlogits = tensor_on<B, T>(shape_t{batch, class_count});
    a.batch = batch;
  }

  vit_spec spec_;
  architecture arch_;
  nn::block_config cfg_;
  std::int64_t side_ = 0;
  nn::param_layout layout_;
  vit_slots slots_;
  nn::param_arena<B, T> params_, grads_;
};

}  // namespace patchzoo::zoo
