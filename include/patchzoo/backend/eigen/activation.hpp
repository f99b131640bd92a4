#pragma once
// SiLU, GELU (tanh approximation) and SwiGLU as Eigen array expressions, which vectorise exp and tanh.
#include "patchzoo/backend/contracts/gradients.hpp"
#include "patchzoo/backend/contracts/transformer.hpp"
#include "patchzoo/backend/eigen/eigen_includes.hpp"

namespace patchzoo {

struct eigen_backend;

namespace eigen_detail {

template <class T>
constexpr T gelu_c = T(0.7978845608028654);  // sqrt(2 / pi)
template <class T>
constexpr T gelu_k = T(0.044715);

// Backward contract of the unary activations: dout matches in; din, when wanted, too.
template <class T>
bool unary_backward_contract(const char* op, const tensor_view<T>& din, const const_view<T>& dout,
                             const const_view<T>& in) {
  contract::same_shape(op, "dout", dout, "input", in);
  contract::elementwise<const T>(op, dout, in);
  if (!contract::wanted_gradient(op, "din", din, in)) return false;
  expect_contiguous(op, "din", din);
  return true;
}

}  // namespace eigen_detail

template <real T>
void silu_forward(eigen_backend&, tensor_view<T> out, const_view<T> in) {
  contract::elementwise("silu_forward", out, in);
  eigen_detail::parallel_for(in.numel(), in.numel(), [&](std::int64_t lo, std::int64_t hi) {
    const eigen_detail::const_array_map<T> x(in.data + lo, hi - lo);
    eigen_detail::array_map<T>(out.data + lo, hi - lo) = x / (T(1) + (-x).exp());
  });
}

template <real T>
void silu_backward(eigen_backend&, tensor_view<T> din, const_view<T> dout, const_view<T> in) {
  if (!eigen_detail::unary_backward_contract("silu_backward", din, dout, in)) return;
  eigen_detail::parallel_for(in.numel(), in.numel(), [&](std::int64_t lo, std::int64_t hi) {
    const eigen_detail::const_array_map<T> x(in.data + lo, hi - lo), g(dout.data + lo, hi - lo);
    const auto s = (T(1) / (T(1) + (-x).exp())).eval();
    eigen_detail::array_map<T>(din.data + lo, hi - lo) += g * s * (T(1) + x * (T(1) - s));
  });
}

template <real T>
void gelu_forward(eigen_backend&, tensor_view<T> out, const_view<T> in) {
  contract::elementwise("gelu_forward", out, in);
  using eigen_detail::gelu_c, eigen_detail::gelu_k;
  eigen_detail::parallel_for(in.numel(), in.numel(), [&](std::int64_t lo, std::int64_t hi) {
    const eigen_detail::const_array_map<T> x(in.data + lo, hi - lo);
    eigen_detail::array_map<T>(out.data + lo, hi - lo) =
        T(0.5) * x * (T(1) + (gelu_c<T> * (x + gelu_k<T> * x * x * x)).tanh());
  });
}

template <real T>
void gelu_backward(eigen_backend&, tensor_view<T> din, const_view<T> dout, const_view<T> in) {
  if (!eigen_detail::unary_backward_contract("gelu_backward", din, dout, in)) return;
  using eigen_detail::gelu_c, eigen_detail::gelu_k;
  eigen_detail::parallel_for(in.numel(), in.numel(), [&](std::int64_t lo, std::int64_t hi) {
    const eigen_detail::const_array_map<T> x(in.data + lo, hi - lo), g(dout.data + lo, hi - lo);
    const auto t = (gelu_c<T> * (x + gelu_k<T> * x * x * x)).tanh().eval();
    const auto du = gelu_c<T> * (T(1) + T(3) * gelu_k<T> * x * x);
    eigen_detail::array_map<T>(din.data + lo, hi - lo) += g * (T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * du);
  });
}

template <real T>
void swiglu_forward(eigen_backend&, tensor_view<T> out, const_view<T> gate, const_view<T> up) {
  contract::swiglu("swiglu_forward", out, gate, up);
  eigen_detail::parallel_for(gate.numel(), gate.numel(), [&](std::int64_t lo, std::int64_t hi) {
    const eigen_detail::const_array_map<T> g(gate.data + lo, hi - lo), u(up.data + lo, hi - lo);
    eigen_detail::array_map<T>(out.data + lo, hi - lo) = g / (T(1) + (-g).exp()) * u;
  });
}

template <real T>
void swiglu_backward(eigen_backend&, tensor_view<T> dgate, tensor_view<T> dup, const_view<T> dout, const_view<T> gate,
                     const_view<T> up) {
  const char* op = "swiglu_backward";
  contract::swiglu<const T>(op, dout, gate, up);
  const bool want_gate = contract::wanted_gradient(op, "dgate", dgate, gate);
  const bool want_up = contract::wanted_gradient(op, "dup", dup, up);
  if (want_gate) expect_contiguous(op, "dgate", dgate);
  if (want_up) expect_contiguous(op, "dup", dup);
  eigen_detail::parallel_for(gate.numel(), gate.numel(), [&](std::int64_t lo, std::int64_t hi) {
    const std::int64_t n = hi - lo;
    const eigen_detail::const_array_map<T> g(gate.data + lo, n), u(up.data + lo, n), d(dout.data + lo, n);
    const auto s = (T(1) / (T(1) + (-g).exp())).eval();
    if (want_gate) eigen_detail::array_map<T>(dgate.data + lo, n) += d * u * s * (T(1) + g * (T(1) - s));
    if (want_up) eigen_detail::array_map<T>(dup.data + lo, n) += d * g * s;
  });
}

}  // namespace patchzoo
