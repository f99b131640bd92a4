// segment_maxpool_forward and segment_maxpool_backward; offsets and argmax are checked on the host.
#include "launch.hpp"
#include "patchzoo/backend/contracts/index_values.hpp"
#include "patchzoo/backend/contracts/transformer.hpp"
#include "patchzoo/backend/cuda/device/segment_maxpool.cuh"

namespace patchzoo {

using namespace cuda_detail;

void segment_maxpool_forward(cuda_backend& be, tensor_view<float> out, tensor_view<std::int32_t> argmax,
                             const_view<float> in, const_view<std::int32_t> offsets) {
  const char* op = "segment_maxpool_forward";
  contract::segment_maxpool(op, out, argmax, in, offsets);
  expect_contiguous(op, "input", in);
  expect_contiguous(op, "output", out);
  expect_contiguous(op, "argmax", argmax);
  const auto host = to_host(op, "offsets", offsets);
  contract::segment_offsets(op, host.data(), offsets.numel(), in.dim(0));
  if (out.numel() == 0) return;
  cuda_device::segment_maxpool_forward_kernel<<<grid_for(out.numel()), block_size, 0, be.stream>>>(
      out.data, argmax.data, in.data, offsets.data, out.dim(0), out.dim(1));
  check_launch(op);
}

void segment_maxpool_backward(cuda_backend& be, tensor_view<float> din, const_view<float> dout,
                              const_view<std::int32_t> argmax) {
  const char* op = "segment_maxpool_backward";
  expect_rank(op, "dout", dout, 2);
  expect_contiguous(op, "dout", dout);
  expect_shape(op, "argmax", argmax, dout.shape);
  if (din.empty()) return;
  expect_rank(op, "din", din, 2);
  expect_contiguous(op, "din", din);
  check(din.dim(1) == dout.dim(1), op, "din ", din.shape.str(), " and dout ", dout.shape.str(), " differ in width");
  const auto host = to_host(op, "argmax", argmax);
  contract::argmax_slots(op, host.data(), argmax.numel(), din.dim(0), true);
  if (dout.numel() == 0) return;
  cuda_device::segment_maxpool_backward_kernel<<<grid_for(dout.numel()), block_size, 0, be.stream>>>(
      din.data, dout.data, argmax.data, dout.dim(0), dout.dim(1));
  check_launch(op);
}

}  // namespace patchzoo
