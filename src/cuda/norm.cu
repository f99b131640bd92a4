// rmsnorm and layernorm, forward and backward.
#include "launch.hpp"
#include "patchzoo/backend/contracts/gradients.hpp"
#include "patchzoo/backend/contracts/transformer.hpp"
#include "patchzoo/backend/cuda/device/norm.cuh"

namespace patchzoo {

using namespace cuda_detail;

namespace {

void launch_forward(cuda_backend& be, const char* op, tensor_view<float> out, float* mean, tensor_view<float> rstd,
                    const_view<float> in, const_view<float> weight, const float* bias, float eps) {
  expect_contiguous(op, "output", out);
  if (in.numel() == 0) return;
  cuda_device::norm_forward_kernel<<<static_cast<unsigned>(in.dim(0)), block_size, 0, be.stream>>>(
      out.data, mean, rstd.data, in.data, weight.data, bias, in.dim(1), eps);
  check_launch(op);
}

void launch_backward(cuda_backend& be, const char* op, tensor_view<float> din, tensor_view<float> dweight,
                     tensor_view<float> dbias, const_view<float> dout, const_view<float> in,
                     const_view<float> weight, const float* mean, const_view<float> rstd) {
  const std::int64_t n = in.dim(0), d = in.dim(1);
  if (n == 0 || d == 0) return;
  if (!din.empty()) {
    cuda_device::norm_input_grad_kernel<<<static_cast<unsigned>(n), block_size, 0, be.stream>>>(
        din.data, dout.data, in.data, weight.data, mean, rstd.data, d);
    check_launch(op);
  }
  if (!dweight.empty() || !dbias.empty()) {
    const dim3 block(32, 8);
    cuda_device::norm_param_grad_kernel<<<static_cast<unsigned>((d + 31) / 32), block, 0, be.stream>>>(
        dweight.empty() ? nullptr : dweight.data, dbias.empty() ? nullptr : dbias.data, dout.data, in.data, mean,
        rstd.data, n, d);
    check_launch(op);
  }
}

}  // namespace

void rmsnorm_forward(cuda_backend& be, tensor_view<float> out, tensor_view<float> rstd, const_view<float> in,
                     const_view<float> weight, float eps) {
  contract::norm("rmsnorm_forward", out, in, weight, rstd);
  launch_forward(be, "rmsnorm_forward", out, nullptr, rstd, in, weight, nullptr, eps);
}

void rmsnorm_backward(cuda_backend& be, tensor_view<float> din, tensor_view<float> dweight, const_view<float> dout,
                      const_view<float> in, const_view<float> weight, const_view<float> rstd) {
  const char* op = "rmsnorm_backward";
  contract::norm<const float>(op, dout, in, weight, rstd);
  expect_contiguous(op, "dout", dout);
  if (contract::wanted_gradient(op, "din", din, in)) expect_contiguous(op, "din", din);
  contract::wanted_gradient(op, "dweight", dweight, weight);
  launch_backward(be, op, din, dweight, tensor_view<float>{}, dout, in, weight, nullptr, rstd);
}

void layernorm_forward(cuda_backend& be, tensor_view<float> out, tensor_view<float> mean, tensor_view<float> rstd,
                       const_view<float> in, const_view<float> weight, const_view<float> bias, float eps) {
  const char* op = "layernorm_forward";
  contract::norm(op, out, in, weight, rstd);
  expect_shape(op, "saved mean", mean, rstd.shape);
  expect_shape(op, "bias", bias, weight.shape);
  launch_forward(be, op, out, mean.data, rstd, in, weight, bias.data, eps);
}

void layernorm_backward(cuda_backend& be, tensor_view<float> din, tensor_view<float> dweight,
                        tensor_view<float> dbias, const_view<float> dout, const_view<float> in,
                        const_view<float> weight, const_view<float> mean, const_view<float> rstd) {
  const char* op = "layernorm_backward";
  contract::norm<const float>(op, dout, in, weight, rstd);
  expect_shape(op, "saved mean", mean, rstd.shape);
  expect_contiguous(op, "dout", dout);
  if (contract::wanted_gradient(op, "din", din, in)) expect_contiguous(op, "din", din);
  contract::wanted_gradient(op, "dweight", dweight, weight);
  contract::wanted_gradient(op, "dbias", dbias, weight);
  launch_backward(be, op, din, dweight, dbias, dout, in, weight, mean.data, rstd);
}

}  // namespace patchzoo
