// group_norm, forward and backward.
#include "launch.hpp"
#include "patchzoo/backend/contracts/conv.hpp"
#include "patchzoo/backend/contracts/gradients.hpp"
#include "patchzoo/backend/cuda/device/group_norm.cuh"

namespace patchzoo {

using namespace cuda_detail;

namespace {

cuda_device::group_norm_geometry geometry(const const_view<float>& in, int groups) {
  return {in.dim(0), in.dim(1), in.dim(2) * in.dim(3), groups};
}

}  // namespace

void group_norm_forward(cuda_backend& be, tensor_view<float> out, tensor_view<float> mean, tensor_view<float> rstd,
                        const_view<float> in, const_view<float> weight, const_view<float> bias, int groups,
                        float eps) {
  const char* op = "group_norm_forward";
  contract::group_norm(op, out, in, weight, bias, mean, rstd, groups);
  if (in.numel() == 0) return;
  cuda_device::group_norm_forward_kernel<<<static_cast<unsigned>(in.dim(0) * groups), block_size, 0, be.stream>>>(
      out.data, mean.data, rstd.data, in.data, weight.data, bias.data, geometry(in, groups), eps);
  check_launch(op);
}

void group_norm_backward(cuda_backend& be, tensor_view<float> din, tensor_view<float> dweight,
                         tensor_view<float> dbias, const_view<float> dout, const_view<float> in,
                         const_view<float> weight, const_view<float> mean, const_view<float> rstd, int groups) {
  const char* op = "group_norm_backward";
  contract::group_norm<const float>(op, dout, in, weight, weight, mean, rstd, groups, "dout");
  const bool want_in = contract::wanted_gradient(op, "din", din, in);
  const bool want_weight = contract::wanted_gradient(op, "dweight", dweight, weight);
  const bool want_bias = contract::wanted_gradient(op, "dbias", dbias, weight);
  if (want_in) expect_contiguous(op, "din", din);
  if (in.numel() == 0) return;
  const auto g = geometry(in, groups);
  if (want_in) {
    cuda_device::group_norm_input_grad_kernel<<<static_cast<unsigned>(in.dim(0) * groups), block_size, 0,
                                                be.stream>>>(din.data, dout.data, in.data, weight.data, mean.data,
                                                             rstd.data, g);
    check_launch(op);
  }
  if (want_weight || want_bias) {
    cuda_device::group_norm_param_grad_kernel<<<static_cast<unsigned>(in.dim(1)), block_size, 0, be.stream>>>(
        want_weight ? dweight.data : nullptr, want_bias ? dbias.data : nullptr, dout.data, in.data, mean.data,
        rstd.data, g);
    check_launch(op);
  }
}

}  // namespace patchzoo
