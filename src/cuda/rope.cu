// rope_forward and rope_backward (in place).
#include "launch.hpp"
#include "patchzoo/backend/contracts/transformer.hpp"
#include "patchzoo/backend/cuda/device/rope.cuh"

namespace patchzoo {

using namespace cuda_detail;

namespace {

void launch_rope(cuda_backend& be, const char* op, tensor_view<float> x, const_view<float> cos,
                 const_view<float> sin, float sign) {
  contract::rope(op, x, cos, sin);
  expect_contiguous(op, "cos table", cos);
  expect_contiguous(op, "sin table", sin);
  const std::int64_t n = x.dim(0) * x.dim(1) * (x.dim(2) / 2);
  if (n == 0) return;
  cuda_device::rope_kernel<<<grid_for(n), block_size, 0, be.stream>>>(x.data, cos.data, sin.data, x.dim(0), x.dim(1),
                                                                      x.dim(2) / 2, x.strides[0], sign);
  check_launch(op);
}

}  // namespace

void rope_forward(cuda_backend& be, tensor_view<float> x, const_view<float> cos, const_view<float> sin) {
  launch_rope(be, "rope_forward", x, cos, sin, 1.0f);
}

void rope_backward(cuda_backend& be, tensor_view<float> dx, const_view<float> cos, const_view<float> sin) {
  launch_rope(be, "rope_backward", dx, cos, sin, -1.0f);
}

}  // namespace patchzoo
