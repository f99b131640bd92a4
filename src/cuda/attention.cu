// attention_forward and attention_backward over per-query key ranges; kv_range is checked on the host.
#include "launch.hpp"
#include "patchzoo/backend/contracts/index_values.hpp"
#include "patchzoo/backend/contracts/transformer.hpp"
#include "patchzoo/backend/cuda/device/attention.cuh"

namespace patchzoo {

using namespace cuda_detail;

namespace {

// The kernels keep 2-3 head-dim vectors per warp in shared memory: 3 x 4 warps x 1024 floats = 48 KiB,
// the default per-block limit.
constexpr std::int64_t max_head_dim = 1024;

void check_ranges(const char* op, const const_view<std::int32_t>& kv_range, std::int64_t tq, std::int64_t tk) {
  const auto host = to_host(op, "kv_range", kv_range);
  contract::kv_ranges(op, host.data(), tq, tk);
}

void check_head_dim(const char* op, std::int64_t d) {
  check(d <= max_head_dim, op, "head_dim ", d, " exceeds the CUDA kernel's limit of ", max_head_dim);
}

unsigned attention_blocks(std::int64_t tq, std::int64_t heads) {
  return static_cast<unsigned>((tq * heads + cuda_device::attention_warps - 1) / cuda_device::attention_warps);
}

}  // namespace

void attention_forward(cuda_backend& be, tensor_view<float> out, tensor_view<float> lse, const_view<float> q,
                       const_view<float> k, const_view<float> v, const_view<std::int32_t> kv_range, float scale) {
  const char* op = "attention_forward";
  contract::attention(op, out, lse, q, k, v, kv_range);
  expect_contiguous(op, "lse", lse);
  check_head_dim(op, q.dim(2));
  check_ranges(op, kv_range, q.dim(0), k.dim(0));
  if (q.dim(0) == 0 || q.dim(1) == 0) return;
  const int d = static_cast<int>(q.dim(2)), heads = static_cast<int>(q.dim(1));
  const cuda_device::attention_strides st{q.strides[0], k.strides[0], v.strides[0], out.strides[0]};
  const std::size_t shared = cuda_device::attention_warps * 2 * d * sizeof(float);
  cuda_device::attention_forward_kernel<<<attention_blocks(q.dim(0), heads), cuda_device::attention_warps * 32, shared,
                                          be.stream>>>(out.data, lse.data, q.data, k.data, v.data, kv_range.data, st,
                                                       q.dim(0), heads, d, scale);
  check_launch(op);
}

void attention_backward(cuda_backend& be, tensor_view<float> dq, tensor_view<float> dk, tensor_view<float> dv,
                        const_view<float> dout, const_view<float> q, const_view<float> k, const_view<float> v,
                        const_view<float> out, const_view<float> lse, const_view<std::int32_t> kv_range,
                        float scale) {
  const char* op = "attention_backward";
  contract::attention<const float>(op, out, lse, q, k, v, kv_range);
  expect_contiguous(op, "lse", lse);
  contract::rows_strided_heads(op, "dout", dout);
  expect_shape(op, "dout", dout, q.shape);
  if (!dq.empty()) {
    contract::rows_strided_heads(op, "dq", dq);
    expect_shape(op, "dq", dq, q.shape);
  }
  if (!dk.empty()) {
    contract::rows_strided_heads(op, "dk", dk);
    expect_shape(op, "dk", dk, k.shape);
  }
  if (!dv.empty()) {
    contract::rows_strided_heads(op, "dv", dv);
    expect_shape(op, "dv", dv, v.shape);
  }
  check_head_dim(op, q.dim(2));
  check_ranges(op, kv_range, q.dim(0), k.dim(0));
  if ((dq.empty() && dk.empty() && dv.empty()) || q.dim(0) == 0 || q.dim(1) == 0) return;
  const int d = static_cast<int>(q.dim(2)), heads = static_cast<int>(q.dim(1));
  const cuda_device::attention_strides st{q.strides[0], k.strides[0], v.strides[0], out.strides[0]};
  const cuda_device::attention_strides grad_st{dq.strides[0], dk.strides[0], dv.strides[0], 0};
  const std::size_t shared = cuda_device::attention_warps * 3 * d * sizeof(float);
  cuda_device::attention_backward_kernel<<<attention_blocks(q.dim(0), heads), cuda_device::attention_warps * 32,
                                           shared, be.stream>>>(
      dq.empty() ? nullptr : dq.data, dk.empty() ? nullptr : dk.data, dv.empty() ? nullptr : dv.data, dout.data,
      q.data, k.data, v.data, out.data, lse.data, kv_range.data, st, grad_st, dout.strides[0], q.dim(0), heads, d,
      scale);
  check_launch(op);
}

}  // namespace patchzoo
