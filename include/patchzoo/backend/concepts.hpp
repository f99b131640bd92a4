#pragma once
// What a backend is, and the op families it may implement. Ops are free functions found by
// argument-dependent lookup on the backend type (one overload set per backend), so adding a backend
// means writing overloads, never editing a central class. Every op's gradient outputs ACCUMULATE (+=),
// as in llm.c: residual branches and shared weights need no extra adds.
#include <concepts>
#include <cstdint>
#include <string_view>

#include "patchzoo/backend/op_params.hpp"
#include "patchzoo/core/tensor.hpp"

namespace patchzoo {

template <class B>
concept backend = requires(B& b) {
  { B::name } -> std::convertible_to<std::string_view>;
  typename B::memory;
  b.synchronize();
};

// The owning tensor type that lives in backend B's memory.
template <class B, class T>
using tensor_on = tensor<T, typename B::memory>;

template <class T> using view = tensor_view<T>;
template <class T> using cview = const_view<T>;
using index_view = const_view<std::int32_t>;

// Element-wise utilities and reductions every model needs.
template <class B, class T>
concept elementwise_ops = backend<B> && requires(B& b, view<T> x, cview<T> c, T s) {
  fill(b, x, s);
  copy(b, x, c);
  add(b, x, c, c);         // out = a + b
  accumulate(b, x, c, s);  // dst += alpha * src
  scale(b, x, s);
  { sum(b, c) } -> std::convertible_to<double>;
  { sum_squares(b, c) } -> std::convertible_to<double>;
};

// GEMM and the layers built directly on it.
template <class B, class T>
concept linear_ops = backend<B> && requires(B& b, view<T> x, cview<T> c, T s, bool t) {
  matmul(b, x, c, c, t, t, s, s);  // c = alpha * op(a) op(b) + beta * c; rank 2, or rank 3 batched
  add_bias(b, x, c);               // x[N, C] += bias[C]
  bias_backward(b, x, c);          // dbias[C] += column sums of dout[N, C]
};

template <class B, class T>
concept transformer_ops = elementwise_ops<B, T> && linear_ops<B, T> &&
    requires(B& b, view<T> x, cview<T> c, T s, index_view idx, view<std::int32_t> iout, float p, std::uint64_t seed) {
  embedding_forward(b, x, idx, c);
  embedding_backward(b, x, c, idx);
  rmsnorm_forward(b, x, x, c, c, s);
  rmsnorm_backward(b, x, x, c, c, c, c);
  layernorm_forward(b, x, x, x, c, c, c, s);
  layernorm_backward(b, x, x, x, c, c, c, c, c);
  silu_forward(b, x, c);
  silu_backward(b, x, c, c);
  gelu_forward(b, x, c);
  gelu_backward(b, x, c, c);
  swiglu_forward(b, x, c, c);
  swiglu_backward(b, x, x, c, c, c);
  softmax_forward(b, x, c);
  softmax_backward(b, x, c, c);
  { cross_entropy_forward(b, x, x, c, idx, std::int32_t{}) } -> std::convertible_to<std::int64_t>;
  cross_entropy_backward(b, x, c, idx, std::int32_t{}, s);
  attention_forward(b, x, x, c, c, c, idx, s);
  attention_backward(b, x, x, x, c, c, c, c, c, c, idx, s);
  rope_forward(b, x, c, c);
  rope_backward(b, x, c, c);
  segment_maxpool_forward(b, x, iout, c, idx);
  segment_maxpool_backward(b, x, c, idx);
  dropout_forward(b, x, c, p, seed);
  dropout_backward(b, x, c, p, seed);
  adamw_step(b, x, c, x, x, adamw_params{}, std::int64_t{});
};

template <class B, class T>
concept conv_ops = backend<B> && requires(B& b, view<T> x, cview<T> c, T s, view<std::int32_t> iout, index_view idx) {
  conv2d_forward(b, x, c, c, c, conv2d_params{});
  conv2d_backward(b, x, x, x, c, c, c, conv2d_params{});
  conv_transpose2d_forward(b, x, c, c, c, conv2d_params{});
  conv_transpose2d_backward(b, x, x, x, c, c, c, conv2d_params{});
  avgpool2d_forward(b, x, c, pool2d_params{});
  avgpool2d_backward(b, x, c, pool2d_params{});
  maxpool2d_forward(b, x, iout, c, pool2d_params{});
  maxpool2d_backward(b, x, c, idx);
  group_norm_forward(b, x, x, x, c, c, c, int{}, s);  // out, mean[N, G], rstd[N, G], in, weight, bias, groups, eps
  group_norm_backward(b, x, x, x, c, c, c, c, c, int{});
  upsample_nearest2x_forward(b, x, c);
  upsample_nearest2x_backward(b, x, c);
  pad2d_forward(b, x, c, pad2d_params{});
  pad2d_backward(b, x, c, pad2d_params{});
};

// Everything the library's models use.
template <class B, class T>
concept full_backend = transformer_ops<B, T> && conv_ops<B, T>;

}  // namespace patchzoo
