// avgpool2d and maxpool2d, forward and backward; maxpool's argmax is checked on the host.
#include "launch.hpp"
#include "patchzoo/backend/contracts/conv.hpp"
#include "patchzoo/backend/contracts/index_values.hpp"
#include "patchzoo/backend/cuda/device/pool.cuh"

namespace patchzoo {

using namespace cuda_detail;

namespace {

cuda_device::pool_geometry geometry(const const_view<float>& in, const shape_t& out, const pool2d_params& p) {
  return {in.dim(0) * in.dim(1), in.dim(2), in.dim(3), out[2], out[3], p.kernel, p.stride};
}

}  // namespace

void avgpool2d_forward(cuda_backend& be, tensor_view<float> out, const_view<float> in, const pool2d_params& p) {
  const char* op = "avgpool2d_forward";
  contract::pool2d(op, out, in, p);
  expect_contiguous(op, "output", out);
  if (out.numel() == 0) return;
  cuda_device::avgpool_forward_kernel<<<grid_for(out.numel()), block_size, 0, be.stream>>>(
      out.data, in.data, geometry(in, out.shape, p));
  check_launch(op);
}

void avgpool2d_backward(cuda_backend& be, tensor_view<float> din, const_view<float> dout, const pool2d_params& p) {
  const char* op = "avgpool2d_backward";
  if (din.empty()) return;
  contract::pool2d<const float>(op, dout, din, p);
  expect_contiguous(op, "dout", dout);
  cuda_device::avgpool_backward_kernel<<<grid_for(din.numel()), block_size, 0, be.stream>>>(
      din.data, dout.data, geometry(din, dout.shape, p));
  check_launch(op);
}

void maxpool2d_forward(cuda_backend& be, tensor_view<float> out, tensor_view<std::int32_t> argmax,
                       const_view<float> in, const pool2d_params& p) {
  const char* op = "maxpool2d_forward";
  contract::pool2d(op, out, in, p);
  expect_contiguous(op, "output", out);
  expect_shape(op, "argmax", argmax, out.shape);
  expect_contiguous(op, "argmax", argmax);
  check(in.numel() <= INT32_MAX, op, "input ", in.shape.str(), " has too many elements for int32 argmax");
  if (out.numel() == 0) return;
  cuda_device::maxpool_forward_kernel<<<grid_for(out.numel()), block_size, 0, be.stream>>>(
      out.data, argmax.data, in.data, geometry(in, out.shape, p));
  check_launch(op);
}

void maxpool2d_backward(cuda_backend& be, tensor_view<float> din, const_view<float> dout,
                        const_view<std::int32_t> argmax) {
  const char* op = "maxpool2d_backward";
  if (din.empty()) return;
  expect_contiguous(op, "din", din);
  expect_contiguous(op, "dout", dout);
  expect_shape(op, "argmax", argmax, dout.shape);
  const auto host = to_host(op, "argmax", argmax);
  contract::argmax_slots(op, host.data(), argmax.numel(), din.numel(), false);
  if (dout.numel() == 0) return;
  cuda_device::maxpool_backward_kernel<<<grid_for(dout.numel()), block_size, 0, be.stream>>>(
      din.data, dout.data, argmax.data, dout.numel());
  check_launch(op);
}

}  // namespace patchzoo
