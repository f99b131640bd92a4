// dropout_forward and dropout_backward.
#include "launch.hpp"
#include "patchzoo/backend/contracts/transformer.hpp"
#include "patchzoo/backend/cuda/device/dropout.cuh"

namespace patchzoo {

using namespace cuda_detail;

void dropout_forward(cuda_backend& be, tensor_view<float> out, const_view<float> in, float p, std::uint64_t seed) {
  contract::dropout_probability("dropout_forward", p);
  contract::elementwise("dropout_forward", out, in);
  if (out.numel() == 0) return;
  cuda_device::dropout_forward_kernel<<<grid_for(out.numel()), block_size, 0, be.stream>>>(
      out.data, in.data, out.numel(), p, 1.0f / (1.0f - p), seed);
  check_launch("dropout_forward");
}

void dropout_backward(cuda_backend& be, tensor_view<float> din, const_view<float> dout, float p, std::uint64_t seed) {
  contract::dropout_probability("dropout_backward", p);
  if (din.empty()) return;
  contract::elementwise("dropout_backward", din, dout);
  cuda_device::dropout_backward_kernel<<<grid_for(din.numel()), block_size, 0, be.stream>>>(
      din.data, dout.data, din.numel(), p, 1.0f / (1.0f - p), seed);
  check_launch("dropout_backward");
}

}  // namespace patchzoo
