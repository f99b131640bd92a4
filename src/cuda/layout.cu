// row_argmax and transpose_last2.
#include "launch.hpp"
#include "patchzoo/backend/contracts/layout.hpp"
#include "patchzoo/backend/cuda/device/layout.cuh"

namespace patchzoo {

using namespace cuda_detail;

void row_argmax(cuda_backend& be, tensor_view<std::int32_t> out, const_view<float> in) {
  const char* op = "row_argmax";
  contract::row_argmax(op, out, in);
  if (in.dim(0) == 0) return;
  cuda_device::row_argmax_kernel<<<grid_for(in.dim(0)), block_size, 0, be.stream>>>(out.data, in.data, in.dim(0),
                                                                                     in.dim(1));
  check_launch(op);
}

void transpose_last2(cuda_backend& be, tensor_view<float> out, const_view<float> in, bool accumulate) {
  const char* op = "transpose_last2";
  contract::transpose_last2(op, out, in);
  if (out.numel() == 0) return;
  cuda_device::transpose_last2_kernel<<<grid_for(out.numel()), block_size, 0, be.stream>>>(
      out.data, in.data, in.dim(0), in.dim(1), in.dim(2), accumulate);
  check_launch(op);
}

}  // namespace patchzoo
