#pragma once
// The tokenizer's encoder and decoder: plain stacks of conv / transposed-conv layers, each optionally
// followed by SiLU. A stack keeps every layer's activations for its backward pass (llm.c style).
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "patchzoo/core/rng.hpp"
#include "patchzoo/nn/param_arena.hpp"
#include "patchzoo/vq/vq_config.hpp"

namespace patchzoo::vq {

struct conv_layer_spec {
  std::string name;
  bool transposed = false;
  std::int64_t cin = 0, cout = 0;
  int kernel = 3;
  conv2d_params p{};
  bool silu = true;
};

// conv3x3 (1->C) SiLU, per halving conv3x3 stride 2 SiLU, conv3x3 SiLU, conv1x1 (C->code_dim).
inline std::vector<conv_layer_spec> encoder_specs(const vq_config& c) {
  std::vector<conv_layer_spec> s{{"enc.in", false, 1, c.hidden, 3, {1, 1}, true}};
  for (int i = 0; i < c.halvings(); ++i)
    s.push_back({"enc.down" + std::to_string(i), false, c.hidden, c.hidden, 3, {2, 1}, true});
  s.push_back({"enc.mid", false, c.hidden, c.hidden, 3, {1, 1}, true});
  s.push_back({"enc.out", false, c.hidden, c.code_dim, 1, {1, 0}, false});
  return s;
}

// The mirror: conv1x1 (code_dim->C) SiLU, conv3x3 SiLU, per halving conv_transpose 4x4 stride 2 padding 1
// SiLU, conv3x3 (C->1).
inline std::vector<conv_layer_spec> decoder_specs(const vq_config& c) {
  std::vector<conv_layer_spec> s{{"dec.in", false, c.code_dim, c.hidden, 1, {1, 0}, true},
                                 {"dec.mid", false, c.hidden, c.hidden, 3, {1, 1}, true}};
  for (int i = 0; i < c.halvings(); ++i)
    s.push_back({"dec.up" + std::to_string(i), true, c.hidden, c.hidden, 4, {2, 1}, true});
  s.push_back({"dec.out", false, c.hidden, 1, 3, {1, 1}, false});
  return s;
}

inline shape_t conv_output_shape(const conv_layer_spec& l, const shape_t& in) {
  check(in.rank == 4 && in[1] == l.cin, "conv_stack", "layer ", l.name, " expects [N, ", l.cin, ", H, W], got ",
        in.str());
  const auto size = [&](std::int64_t x) {
    return l.transposed ? (x - 1) * l.p.stride - 2 * l.p.padding + l.kernel
                        : (x + 2 * l.p.padding - l.kernel) / l.p.stride + 1;
  };
  return shape_t{in[0], l.cout, size(in[2]), size(in[3])};
}

template <backend B, real T>
  requires vq_ops<B, T>
class conv_stack {
 public:
  conv_stack() = default;
  conv_stack(std::vector<conv_layer_spec> specs, nn::param_layout& layout) : specs_(std::move(specs)) {
    for (const auto& l : specs_) {
      const shape_t w = l.transposed ? shape_t{l.cin, l.cout, l.kernel, l.kernel}
                                     : shape_t{l.cout, l.cin, l.kernel, l.kernel};
      weights_.push_back(layout.add(l.name + ".weight", w));
      biases_.push_back(layout.add(l.name + ".bias", shape_t{l.cout}));
    }
  }

  const std::vector<conv_layer_spec>& specs() const { return specs_; }

  shape_t output_shape(shape_t in) const {
    for (const auto& l : specs_) in = conv_output_shape(l, in);
    return in;
  }

  // He-style normal weights scaled by each output's fan-in (a transposed conv with stride s sees
  // cin * k * k / s^2 inputs per output), zero biases. Host draws, so every backend starts identical.
  void initialize(tensor<T>& host, const nn::param_layout& layout, std::uint64_t seed) const {
    for (std::size_t i = 0; i < specs_.size(); ++i) {
      const auto& l = specs_[i];
      const auto& w = layout.slices()[weights_[i]];
      const auto& b = layout.slices()[biases_[i]];
      double fan_in = static_cast<double>(l.cin * l.kernel * l.kernel);
      if (l.transposed) fan_in /= static_cast<double>(l.p.stride * l.p.stride);
      const double std = (l.silu ? std::sqrt(2.0) : 1.0) / std::sqrt(fan_in);
      for (std::int64_t k = 0; k < w.shape.numel(); ++k)
        host[w.offset + k] = static_cast<T>(std * normal01(seed, static_cast<std::uint64_t>(w.offset + k)));
      for (std::int64_t k = 0; k < b.shape.numel(); ++k) host[b.offset + k] = T(0);
    }
  }

  // Runs every layer on `in` (kept by reference for backward) and returns the last activation.
  const_view<T> forward(B& be, const nn::param_arena<B, T>& params, const_view<T> in) {
    prepare(in.shape);
    input_ = in;
    for (std::size_t i = 0; i < specs_.size(); ++i) {
      const auto& l = specs_[i];
      const const_view<T> x = i == 0 ? in : output(i - 1);
      if (l.transposed) conv_transpose2d_forward(be, pre_[i].view(), x, params[weights_[i]], params[biases_[i]], l.p);
      else conv2d_forward(be, pre_[i].view(), x, params[weights_[i]], params[biases_[i]], l.p);
      if (l.silu) silu_forward(be, post_[i].view(), pre_[i].cview());
    }
    return output(specs_.size() - 1);
  }

  // Given d(loss)/d(output), accumulates parameter gradients into `grads` and the input gradient into
  // din (skipped when empty).
  void backward(B& be, const nn::param_arena<B, T>& params, nn::param_arena<B, T>& grads, const_view<T> dout,
                tensor_view<T> din) {
    check(!pre_.empty(), "conv_stack::backward", "no forward pass to differentiate");
    const_view<T> g = dout;
    for (std::size_t i = specs_.size(); i-- > 0;) {
      const auto& l = specs_[i];
      if (l.silu) {
        fill(be, dpre_[i].view(), T(0));
        silu_backward(be, dpre_[i].view(), g, pre_[i].cview());
        g = dpre_[i].cview();
      }
      tensor_view<T> dx = din;
      if (i > 0) {
        dx = dact_[i - 1].view();
        fill(be, dx, T(0));
      }
      const const_view<T> x = i == 0 ? input_ : output(i - 1);
      if (l.transposed)
        conv_transpose2d_backward(be, dx, grads[weights_[i]], grads[biases_[i]], g, x, params[weights_[i]], l.p);
      else conv2d_backward(be, dx, grads[weights_[i]], grads[biases_[i]], g, x, params[weights_[i]], l.p);
      if (i > 0) g = dact_[i - 1].cview();
    }
  }

 private:
  const_view<T> output(std::size_t i) const { return specs_[i].silu ? post_[i].cview() : pre_[i].cview(); }

  void prepare(const shape_t& in) {
    if (!pre_.empty() && in == input_.shape) return;
    pre_.clear();
    post_.clear();
    dpre_.clear();
    dact_.clear();
    shape_t s = in;
    for (const auto& l : specs_) {
      s = conv_output_shape(l, s);
      pre_.emplace_back(s);
      post_.emplace_back(l.silu ? s : shape_t{0});
      dpre_.emplace_back(l.silu ? s : shape_t{0});
      dact_.emplace_back(s);
    }
  }

  std::vector<conv_layer_spec> specs_;
  std::vector<std::size_t> weights_, biases_;
  const_view<T> input_;
  std::vector<tensor_on<B, T>> pre_, post_, dpre_, dact_;  // dact_[i]: gradient of layer i's output
};

}  // namespace patchzoo::vq
