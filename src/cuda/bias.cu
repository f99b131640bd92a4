// add_bias and bias_backward.
#include "launch.hpp"
#include "patchzoo/backend/contracts/transformer.hpp"
#include "patchzoo/backend/cuda/device/bias.cuh"

namespace patchzoo {

using namespace cuda_detail;

void add_bias(cuda_backend& be, tensor_view<float> x, const_view<float> bias) {
  contract::bias("add_bias", x, bias);
  const std::int64_t c = x.shape.last(), n = x.shape.rows();
  if (x.numel() == 0) return;
  cuda_device::add_bias_kernel<<<grid_for(x.numel()), block_size, 0, be.stream>>>(x.data, bias.data, n, c);
  check_launch("add_bias");
}

void bias_backward(cuda_backend& be, tensor_view<float> dbias, const_view<float> dout) {
  if (dbias.empty()) return;
  contract::bias<const float>("bias_backward", dout, dbias);
  expect_contiguous("bias_backward", "dbias", dbias);
  const std::int64_t c = dout.shape.last(), n = dout.shape.rows();
  if (c == 0) return;
  const dim3 block(32, 8);
  cuda_device::column_sums_kernel<<<static_cast<unsigned>((c + 31) / 32), block, 0, be.stream>>>(dbias.data, dout.data,
                                                                                                 n, c);
  check_launch("bias_backward");
}

}  // namespace patchzoo
