// silu, gelu and swiglu, forward and backward.
#include "launch.hpp"
#include "patchzoo/backend/contracts/gradients.hpp"
#include "patchzoo/backend/contracts/transformer.hpp"
#include "patchzoo/backend/cuda/device/activation.cuh"

namespace patchzoo {

using namespace cuda_detail;

namespace {

// din[i] += dout[i] * f'(in[i]); returns whether din is wanted.
bool check_unary_backward(const char* op, const tensor_view<float>& din, const const_view<float>& dout,
                          const const_view<float>& in) {
  contract::same_shape(op, "dout", dout, "input", in);
  contract::elementwise<const float>(op, dout, in);
  if (!contract::wanted_gradient(op, "din", din, in)) return false;
  expect_contiguous(op, "din", din);
  return in.numel() > 0;
}

}  // namespace

void silu_forward(cuda_backend& be, tensor_view<float> out, const_view<float> in) {
  contract::elementwise("silu_forward", out, in);
  if (out.numel() == 0) return;
  cuda_device::silu_forward_kernel<<<grid_for(out.numel()), block_size, 0, be.stream>>>(out.data, in.data, out.numel());
  check_launch("silu_forward");
}

void silu_backward(cuda_backend& be, tensor_view<float> din, const_view<float> dout, const_view<float> in) {
  if (!check_unary_backward("silu_backward", din, dout, in)) return;
  cuda_device::silu_backward_kernel<<<grid_for(din.numel()), block_size, 0, be.stream>>>(din.data, dout.data, in.data,
                                                                                         din.numel());
  check_launch("silu_backward");
}

void gelu_forward(cuda_backend& be, tensor_view<float> out, const_view<float> in) {
  contract::elementwise("gelu_forward", out, in);
  if (out.numel() == 0) return;
  cuda_device::gelu_forward_kernel<<<grid_for(out.numel()), block_size, 0, be.stream>>>(out.data, in.data, out.numel());
  check_launch("gelu_forward");
}

void gelu_backward(cuda_backend& be, tensor_view<float> din, const_view<float> dout, const_view<float> in) {
  if (!check_unary_backward("gelu_backward", din, dout, in)) return;
  cuda_device::gelu_backward_kernel<<<grid_for(din.numel()), block_size, 0, be.stream>>>(din.data, dout.data, in.data,
                                                                                         din.numel());
  check_launch("gelu_backward");
}

void swiglu_forward(cuda_backend& be, tensor_view<float> out, const_view<float> gate, const_view<float> up) {
  contract::swiglu("swiglu_forward", out, gate, up);
  if (out.numel() == 0) return;
  cuda_device::swiglu_forward_kernel<<<grid_for(out.numel()), block_size, 0, be.stream>>>(out.data, gate.data,
                                                                                          up.data, out.numel());
  check_launch("swiglu_forward");
}

void swiglu_backward(cuda_backend& be, tensor_view<float> dgate, tensor_view<float> dup, const_view<float> dout,
                     const_view<float> gate, const_view<float> up) {
  const char* op = "swiglu_backward";
  contract::swiglu<const float>(op, dout, gate, up);
  const bool want_gate = contract::wanted_gradient(op, "dgate", dgate, gate);
  const bool want_up = contract::wanted_gradient(op, "dup", dup, up);
  if (want_gate) expect_contiguous(op, "dgate", dgate);
  if (want_up) expect_contiguous(op, "dup", dup);
  if ((!want_gate && !want_up) || gate.numel() == 0) return;
  cuda_device::swiglu_backward_kernel<<<grid_for(gate.numel()), block_size, 0, be.stream>>>(
      dgate.empty() ? nullptr : dgate.data, dup.empty() ? nullptr : dup.data, dout.data, gate.data, up.data,
      gate.numel());
  check_launch(op);
}

}  // namespace patchzoo
