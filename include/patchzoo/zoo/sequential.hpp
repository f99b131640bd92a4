#pragma once
// A classifier that is a stack of layers (layers.hpp): activation i + 1 = layer i (activation i),
// activation 0 = the images. Parameters are named "layers.<i>.weight" / "layers.<i>.bias".
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "patchzoo/backend/transfer.hpp"
#include "patchzoo/zoo/classifier.hpp"
#include "patchzoo/zoo/layers.hpp"
#include "patchzoo/zoo/parameter_layout.hpp"

namespace patchzoo::zoo {

template <backend B, real T>
class sequential_classifier final : public classifier<B, T> {
 public:
  struct activations final : workspace {
    std::int64_t batch = -1;
    std::vector<tensor_on<B, T>> values;             // [B, per-image shape] for the input and each layer
    std::vector<tensor_on<B, T>> grads;              // the loss gradient of each value (input: unused)
    std::vector<tensor_on<B, std::int32_t>> argmax;  // per layer; only max pools fill theirs
  };

  sequential_classifier(sequential_spec spec, std::uint64_t seed) : spec_(std::move(spec)), shapes_(sequential_shapes(std::get<sequential_spec>(spec_))) {
    slots_ = add_sequential_parameters(layout_, std::get<sequential_spec>(spec_), shapes_);
    params_ = nn::param_arena<B, T>(layout_);
    grads_ = nn::param_arena<B, T>(layout_);
    initialize_classifier(params_, seed);
  }

  const architecture& spec() const override { return spec_; }
  const nn::param_layout& layout() const override { return layout_; }
  nn::param_arena<B, T>& params() override { return params_; }
  const nn::param_arena<B, T>& params() const override { return params_; }
  nn::param_arena<B, T>& grads() override { return grads_; }

  std::unique_ptr<workspace> make_workspace() const override { return std::make_unique<activations>(); }

  const_view<T> forward(B& be, const tensor<T>& images, workspace& ws) const override {
    auto& a = cast(ws);
    check(images.rank() == 4 && images.dim(1) == 1 && images.dim(2) == image_side && images.dim(3) == image_side,
          "sequential_classifier::forward", "images have shape ", images.shape().str(), ", expected [B, 1, ",
          image_side, ", ", image_side, "]");
    prepare(a, images.dim(0));
    B::memory::copy_from_host(a.values[0].data(), images.data(), images.bytes());
    const auto& layers = std::get<sequential_spec>(spec_).layers;
    for (std::size_t i = 0; i < layers.size(); ++i)
      layer_forward(be, layers[i], weight(i), bias(i), a.values[i].cview(), a.values[i + 1].view(), a.argmax[i].view());
    return a.values.back().cview();
  }

  tensor_view<T> logits_grad(workspace& ws) const override { return cast(ws).grads.back().view(); }

  void backward(B& be, workspace& ws, nn::param_arena<B, T>& g) const override {
    auto& a = cast(ws);
    check(a.batch > 0, "sequential_classifier::backward", "no forward pass to differentiate");
    const auto& layers = std::get<sequential_spec>(spec_).layers;
    for (std::size_t i = layers.size(); i-- > 0;) {
      tensor_view<T> din;
      if (i > 0) {
        din = a.grads[i].view();
        fill(be, din, T(0));
      }
      const auto& s = slots_[i];
      layer_backward(be, layers[i], weight(i), s.weight < 0 ? tensor_view<T>() : g[s.weight],
                     s.bias < 0 ? tensor_view<T>() : g[s.bias], din, a.grads[i + 1].cview(), a.values[i].cview(),
                     a.argmax[i].cview());
    }
  }

  // The input of the final linear layer.
  const_view<T> features(const workspace& ws) const override {
    const auto& a = dynamic_cast<const activations&>(ws);
    return a.values[a.values.size() - 2].cview();
  }

  std::int64_t flops() const override {
    const auto& layers = std::get<sequential_spec>(spec_).layers;
    std::int64_t total = 0;
    for (std::size_t i = 0; i < layers.size(); ++i) total += layer_flops(layers[i], shapes_[i], shapes_[i + 1]);
    return total;
  }

 private:
  static activations& cast(workspace& ws) { return dynamic_cast<activations&>(ws); }

  const_view<T> weight(std::size_t i) const { return slots_[i].weight < 0 ? const_view<T>() : params_[slots_[i].weight]; }
  const_view<T> bias(std::size_t i) const { return slots_[i].bias < 0 ? const_view<T>() : params_[slots_[i].bias]; }

  static shape_t batched(std::int64_t batch, const shape_t& s) {
    shape_t out{batch};
    for (int d = 0; d < s.rank; ++d) out.dims[out.rank++] = s[d];
    return out;
  }

  void prepare(activations& a, std::int64_t batch) const {
    if (a.batch == batch) return;
    const auto& layers = std::get<sequential_spec>(spec_).layers;
    a.values.clear();
    a.grads.clear();
    a.argmax.clear();
    for (const auto& s : shapes_) {
      a.values.emplace_back(batched(batch, s));
      a.grads.emplace_back(batched(batch, s));
    }
    for (std::size_t i = 0; i < layers.size(); ++i)
      a.argmax.emplace_back(layers[i].kind == layer_kind::maxpool2d ? batched(batch, shapes_[i + 1]) : shape_t{0});
    a.batch = batch;
  }

  architecture spec_;
  std::vector<shape_t> shapes_;
  nn::param_layout layout_;
  std::vector<sequential_slot> slots_;
  nn::param_arena<B, T> params_, grads_;
};

}  // namespace patchzoo::zoo
