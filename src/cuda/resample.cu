// upsample_nearest2x and pad2d, forward and backward.
#include "launch.hpp"
#include "patchzoo/backend/contracts/conv.hpp"
#include "patchzoo/backend/cuda/device/resample.cuh"

namespace patchzoo {

using namespace cuda_detail;

namespace {

cuda_device::pad2d_geometry pad_geometry(const shape_t& small, const shape_t& big, const pad2d_params& p) {
  return {small[0] * small[1], small[2], small[3], big[2], big[3], p.top, p.left};
}

}  // namespace

void upsample_nearest2x_forward(cuda_backend& be, tensor_view<float> out, const_view<float> in) {
  const char* op = "upsample_nearest2x_forward";
  contract::upsample_nearest2x(op, out, in);
  if (out.numel() == 0) return;
  cuda_device::upsample_nearest2x_forward_kernel<<<grid_for(out.numel()), block_size, 0, be.stream>>>(
      out.data, in.data, in.dim(0) * in.dim(1), in.dim(2), in.dim(3));
  check_launch(op);
}

void upsample_nearest2x_backward(cuda_backend& be, tensor_view<float> din, const_view<float> dout) {
  const char* op = "upsample_nearest2x_backward";
  if (din.empty()) return;
  contract::upsample_nearest2x(op, dout, din, "dout", "din");
  if (din.numel() == 0) return;
  cuda_device::upsample_nearest2x_backward_kernel<<<grid_for(din.numel()), block_size, 0, be.stream>>>(
      din.data, dout.data, din.dim(0) * din.dim(1), din.dim(2), din.dim(3));
  check_launch(op);
}

void pad2d_forward(cuda_backend& be, tensor_view<float> out, const_view<float> in, const pad2d_params& p) {
  const char* op = "pad2d_forward";
  contract::pad2d(op, out, in, p);
  if (out.numel() == 0) return;
  cuda_device::pad2d_forward_kernel<<<grid_for(out.numel()), block_size, 0, be.stream>>>(
      out.data, in.data, pad_geometry(in.shape, out.shape, p));
  check_launch(op);
}

void pad2d_backward(cuda_backend& be, tensor_view<float> din, const_view<float> dout, const pad2d_params& p) {
  const char* op = "pad2d_backward";
  if (din.empty()) return;
  contract::pad2d(op, dout, din, p, "dout", "din");
  if (din.numel() == 0) return;
  cuda_device::pad2d_backward_kernel<<<grid_for(din.numel()), block_size, 0, be.stream>>>(
      din.data, dout.data, pad_geometry(din.shape, dout.shape, p));
  check_launch(op);
}

}  // namespace patchzoo
