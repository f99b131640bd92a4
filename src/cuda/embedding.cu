// embedding_forward and embedding_backward; ids are range-checked on the host before any launch.
#include "launch.hpp"
#include "patchzoo/backend/contracts/transformer.hpp"
#include "patchzoo/backend/cuda/device/embedding.cuh"

namespace patchzoo {

using namespace cuda_detail;

void embedding_forward(cuda_backend& be, tensor_view<float> out, const_view<std::int32_t> ids,
                       const_view<float> table) {
  const char* op = "embedding_forward";
  contract::embedding(op, out, ids, table);
  expect_contiguous(op, "output", out);
  const auto host_ids = to_host(op, "ids", ids);
  contract::indices_in_range(op, "ids", host_ids.data(), ids.numel(), static_cast<std::int32_t>(table.dim(0)));
  if (out.numel() == 0) return;
  cuda_device::embedding_forward_kernel<<<grid_for(out.numel()), block_size, 0, be.stream>>>(
      out.data, ids.data, table.data, ids.numel(), table.dim(1));
  check_launch(op);
}

void embedding_backward(cuda_backend& be, tensor_view<float> dtable, const_view<float> dout,
                        const_view<std::int32_t> ids) {
  const char* op = "embedding_backward";
  if (dtable.empty()) return;
  contract::embedding<const float>(op, dout, ids, dtable);
  expect_contiguous(op, "dout", dout);
  const auto host_ids = to_host(op, "ids", ids);
  contract::indices_in_range(op, "ids", host_ids.data(), ids.numel(), static_cast<std::int32_t>(dtable.dim(0)));
  if (dout.numel() == 0) return;
  cuda_device::embedding_backward_kernel<<<grid_for(dout.numel()), block_size, 0, be.stream>>>(
      dtable.data, dout.data, ids.data, ids.numel(), dtable.dim(1));
  check_launch(op);
}

}  // namespace patchzoo
