#pragma once
// Reference element-wise activations: SiLU, GELU (tanh approximation) and SwiGLU = silu(gate) * up.
#include <cmath>

#include "patchzoo/backend/contracts/gradients.hpp"
#include "patchzoo/backend/contracts/transformer.hpp"
#include "patchzoo/backend/xtensor/xt_includes.hpp"

namespace patchzoo {

struct xtensor_backend;

namespace xt_detail {

inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
inline double silu(double x) { return x * sigmoid(x); }
// d/dx x s(x) = s (1 + x (1 - s)).
inline double silu_grad(double x) {
  const double s = sigmoid(x);
  return s * (1.0 + x * (1.0 - s));
}

inline constexpr double gelu_c = 0.7978845608028654;  // sqrt(2 / pi)
inline constexpr double gelu_a = 0.044715;
inline double gelu(double x) { return 0.5 * x * (1.0 + std::tanh(gelu_c * (x + gelu_a * x * x * x))); }
inline double gelu_grad(double x) {
  const double t = std::tanh(gelu_c * (x + gelu_a * x * x * x));
  return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * gelu_c * (1.0 + 3.0 * gelu_a * x * x);
}

// Backward contract shared by the unary activations: dout and in match; din, when wanted, too.
template <class T>
bool unary_backward_contract(const char* op, const tensor_view<T>& din, const const_view<T>& dout,
                             const const_view<T>& in) {
  contract::same_shape(op, "dout", dout, "input", in);
  contract::elementwise<const T>(op, dout, in);
  if (!contract::wanted_gradient(op, "din", din, in)) return false;
  expect_contiguous(op, "din", din);
  return true;
}

}  // namespace xt_detail

template <real T>
void silu_forward(xtensor_backend&, tensor_view<T> out, const_view<T> in) {
  contract::elementwise("silu_forward", out, in);
  auto Y = xt_detail::adapt(out);
  auto X = xt_detail::adapt(in);
  for (std::size_t i = 0; i < X.size(); ++i) Y.flat(i) = static_cast<T>(xt_detail::silu(X.flat(i)));
}

template <real T>
void silu_backward(xtensor_backend&, tensor_view<T> din, const_view<T> dout, const_view<T> in) {
  if (!xt_detail::unary_backward_contract("silu_backward", din, dout, in)) return;
  auto D = xt_detail::adapt(din);
  auto G = xt_detail::adapt(dout);
  auto X = xt_detail::adapt(in);
  for (std::size_t i = 0; i < X.size(); ++i) D.flat(i) += static_cast<T>(G.flat(i) * xt_detail::silu_grad(X.flat(i)));
}

template <real T>
void gelu_forward(xtensor_backend&, tensor_view<T> out, const_view<T> in) {
  contract::elementwise("gelu_forward", out, in);
  auto Y = xt_detail::adapt(out);
  auto X = xt_detail::adapt(in);
  for (std::size_t i = 0; i < X.size(); ++i) Y.flat(i) = static_cast<T>(xt_detail::gelu(X.flat(i)));
}

template <real T>
void gelu_backward(xtensor_backend&, tensor_view<T> din, const_view<T> dout, const_view<T> in) {
  if (!xt_detail::unary_backward_contract("gelu_backward", din, dout, in)) return;
  auto D = xt_detail::adapt(din);
  auto G = xt_detail::adapt(dout);
  auto X = xt_detail::adapt(in);
  for (std::size_t i = 0; i < X.size(); ++i) D.flat(i) += static_cast<T>(G.flat(i) * xt_detail::gelu_grad(X.flat(i)));
}

template <real T>
void swiglu_forward(xtensor_backend&, tensor_view<T> out, const_view<T> gate, const_view<T> up) {
  contract::swiglu("swiglu_forward", out, gate, up);
  auto Y = xt_detail::adapt(out);
  auto Gt = xt_detail::adapt(gate);
  auto U = xt_detail::adapt(up);
  for (std::size_t i = 0; i < Gt.size(); ++i) Y.flat(i) = static_cast<T>(xt_detail::silu(Gt.flat(i)) * U.flat(i));
}

template <real T>
void swiglu_backward(xtensor_backend&, tensor_view<T> dgate, tensor_view<T> dup, const_view<T> dout,
                     const_view<T> gate, const_view<T> up) {
  const char* op = "swiglu_backward";
  contract::swiglu<const T>(op, dout, gate, up);
  const bool want_gate = contract::wanted_gradient(op, "dgate", dgate, gate);
  const bool want_up = contract::wanted_gradient(op, "dup", dup, up);
  if (want_gate) expect_contiguous(op, "dgate", dgate);
  if (want_up) expect_contiguous(op, "dup", dup);
  auto G = xt_detail::adapt(dout);
  auto Gt = xt_detail::adapt(gate);
  auto U = xt_detail::adapt(up);
  for (std::size_t i = 0; i < Gt.size(); ++i) {
    const double g = G.flat(i), x = Gt.flat(i);
    if (want_gate) dgate.data[i] += static_cast<T>(g * U.flat(i) * xt_detail::silu_grad(x));
    if (want_up) dup.data[i] += static_cast<T>(g * xt_detail::silu(x));
  }
}

}  // namespace patchzoo
