// conv2d and conv_transpose2d, forward and backward, on the gather kernels of device/conv.cuh.
#include "launch.hpp"
#include "patchzoo/backend/contracts/conv.hpp"
#include "patchzoo/backend/contracts/gradients.hpp"
#include "patchzoo/backend/cuda/device/conv.cuh"

namespace patchzoo {

using namespace cuda_detail;

namespace {

// conv2d: x = input, y = output. conv_transpose2d: y = input, x = output. Weight is [Cy, Cx, Kh, Kw] both ways.
cuda_device::conv_geometry geometry(const const_view<float>& x, const const_view<float>& y,
                                    const const_view<float>& weight, const conv2d_params& p) {
  return {x.dim(0), x.dim(1), x.dim(2), x.dim(3), y.dim(1), y.dim(2), y.dim(3),
          static_cast<int>(weight.dim(2)), static_cast<int>(weight.dim(3)), p.stride, p.padding};
}

// dbias is checked by the conv contract itself (as the bias slot).
void check_grads(const char* op, const tensor_view<float>& din, const tensor_view<float>& dweight,
                 const const_view<float>& in, const const_view<float>& weight) {
  if (contract::wanted_gradient(op, "din", din, in)) expect_contiguous(op, "din", din);
  if (contract::wanted_gradient(op, "dweight", dweight, weight)) expect_contiguous(op, "dweight", dweight);
}

void launch_to_y(cuda_backend& be, const char* op, float* y, const float* x, const float* w, const float* bias,
                 const cuda_device::conv_geometry& g, bool accumulate) {
  const std::int64_t total = g.n * g.cy * g.hy * g.wy;
  if (total == 0) return;
  cuda_device::conv_to_y_kernel<<<grid_for(total), block_size, 0, be.stream>>>(y, x, w, bias, g, accumulate);
  check_launch(op);
}

void launch_to_x(cuda_backend& be, const char* op, float* x, const float* y, const float* w, const float* bias,
                 const cuda_device::conv_geometry& g, bool accumulate) {
  const std::int64_t total = g.n * g.cx * g.hx * g.wx;
  if (total == 0) return;
  cuda_device::conv_to_x_kernel<<<grid_for(total), block_size, 0, be.stream>>>(x, y, w, bias, g, accumulate);
  check_launch(op);
}

void launch_weight_grad(cuda_backend& be, const char* op, tensor_view<float> dweight, const float* gy,
                        const float* x, const cuda_device::conv_geometry& g) {
  if (dweight.empty()) return;
  cuda_device::conv_weight_grad_kernel<<<static_cast<unsigned>(dweight.numel()), block_size, 0, be.stream>>>(
      dweight.data, gy, x, g);
  check_launch(op);
}

void launch_bias_grad(cuda_backend& be, const char* op, tensor_view<float> dbias, const_view<float> dout) {
  if (dbias.empty()) return;
  cuda_device::channel_sums_kernel<<<static_cast<unsigned>(dout.dim(1)), block_size, 0, be.stream>>>(
      dbias.data, dout.data, dout.dim(0), dout.dim(1), dout.dim(2) * dout.dim(3));
  check_launch(op);
}

}  // namespace

void conv2d_forward(cuda_backend& be, tensor_view<float> out, const_view<float> in, const_view<float> weight,
                    const_view<float> bias, const conv2d_params& p) {
  const char* op = "conv2d_forward";
  contract::conv2d(op, out, in, weight, bias, p, false);
  expect_contiguous(op, "output", out);
  launch_to_y(be, op, out.data, in.data, weight.data, bias.empty() ? nullptr : bias.data,
              geometry(in, out, weight, p), false);
}

void conv2d_backward(cuda_backend& be, tensor_view<float> din, tensor_view<float> dweight, tensor_view<float> dbias,
                     const_view<float> dout, const_view<float> in, const_view<float> weight, const conv2d_params& p) {
  const char* op = "conv2d_backward";
  contract::conv2d<const float>(op, dout, in, weight, dbias, p, false);
  expect_contiguous(op, "dout", dout);
  check_grads(op, din, dweight, in, weight);
  const auto g = geometry(in, dout, weight, p);
  if (!din.empty()) launch_to_x(be, op, din.data, dout.data, weight.data, nullptr, g, true);
  launch_weight_grad(be, op, dweight, dout.data, in.data, g);
  launch_bias_grad(be, op, dbias, dout);
}

void conv_transpose2d_forward(cuda_backend& be, tensor_view<float> out, const_view<float> in,
                              const_view<float> weight, const_view<float> bias, const conv2d_params& p) {
  const char* op = "conv_transpose2d_forward";
  contract::conv2d(op, out, in, weight, bias, p, true);
  expect_contiguous(op, "output", out);
  launch_to_x(be, op, out.data, in.data, weight.data, bias.empty() ? nullptr : bias.data,
              geometry(out, in, weight, p), false);
}

void conv_transpose2d_backward(cuda_backend& be, tensor_view<float> din, tensor_view<float> dweight,
                               tensor_view<float> dbias, const_view<float> dout, const_view<float> in,
                               const_view<float> weight, const conv2d_params& p) {
  const char* op = "conv_transpose2d_backward";
  contract::conv2d<const float>(op, dout, in, weight, dbias, p, true);
  expect_contiguous(op, "dout", dout);
  check_grads(op, din, dweight, in, weight);
  const auto g = geometry(dout, in, weight, p);
  if (!din.empty()) launch_to_y(be, op, din.data, dout.data, weight.data, nullptr, g, true);
  launch_weight_grad(be, op, dweight, in.data, dout.data, g);
  launch_bias_grad(be, op, dbias, dout);
}

}  // namespace patchzoo
