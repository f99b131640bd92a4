#pragma once
// The layers of a sequential classifier, each a plain forward/backward pair over batched views
// ([B, F] or [B, C, H, W]) and the layer's weight and bias slices. Backward accumulates (+=) into
// din, dweight and dbias; an empty din is skipped (the first layer needs no input gradient).
#include <cstdint>

#include "patchzoo/backend/concepts.hpp"
#include "patchzoo/ops/linear.hpp"
#include "patchzoo/zoo/architecture.hpp"

namespace patchzoo::zoo {

inline bool layer_has_params(const layer_spec& l) { return l.kind == layer_kind::linear || l.kind == layer_kind::conv2d; }

// Weight shape of a parameterised layer for per-image input shape `in`.
inline shape_t layer_weight_shape(const layer_spec& l, const shape_t& in) {
  if (l.kind == layer_kind::linear) return shape_t{l.out, in[0]};
  return shape_t{l.out, in[0], l.kernel, l.kernel};
}

// Forward multiply-adds x 2 of one image through the layer (pools and GELU count as free).
inline std::int64_t layer_flops(const layer_spec& l, const shape_t& in, const shape_t& out) {
  if (l.kind == layer_kind::linear) return 2 * in[0] * l.out;
  if (l.kind == layer_kind::conv2d) return 2 * out.numel() * in[0] * l.kernel * l.kernel;
  return 0;
}

template <backend B, real T>
  requires linear_ops<B, T> && conv_ops<B, T> && transformer_ops<B, T>
void layer_forward(B& be, const layer_spec& l, const_view<T> weight, const_view<T> bias, const_view<T> in,
                   tensor_view<T> out, tensor_view<std::int32_t> argmax) {
  switch (l.kind) {
    case layer_kind::linear: linear_forward(be, out, in, weight, bias); return;
    case layer_kind::gelu: gelu_forward(be, out, in); return;
    case layer_kind::flatten: copy(be, out, in); return;
    case layer_kind::conv2d: conv2d_forward(be, out, in, weight, bias, conv2d_params{l.stride, l.padding}); return;
    case layer_kind::maxpool2d: maxpool2d_forward(be, out, argmax, in, pool2d_params{l.kernel, l.stride}); return;
    case layer_kind::avgpool2d: avgpool2d_forward(be, out, in, pool2d_params{l.kernel, l.stride}); return;
  }
}

template <backend B, real T>
  requires linear_ops<B, T> && conv_ops<B, T> && transformer_ops<B, T>
void layer_backward(B& be, const layer_spec& l, const_view<T> weight, tensor_view<T> dweight, tensor_view<T> dbias,
                    tensor_view<T> din, const_view<T> dout, const_view<T> in, const_view<std::int32_t> argmax) {
  switch (l.kind) {
    case layer_kind::linear: linear_backward(be, din, dweight, dbias, dout, in, weight); return;
    case layer_kind::conv2d:
      conv2d_backward(be, din, dweight, dbias, dout, in, weight, conv2d_params{l.stride, l.padding});
      return;
    default: break;
  }
  if (din.empty()) return;  // the remaining layers have no parameters: only the input gradient matters
  switch (l.kind) {
    case layer_kind::gelu: gelu_backward(be, din, dout, in); return;
    case layer_kind::flatten: accumulate(be, din, dout.reshape(din.shape), T(1)); return;
    case layer_kind::maxpool2d: maxpool2d_backward(be, din, dout, argmax); return;
    case layer_kind::avgpool2d: avgpool2d_backward(be, din, dout, pool2d_params{l.kernel, l.stride}); return;
    default: return;
  }
}

}  // namespace patchzoo::zoo
