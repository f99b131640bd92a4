// softmax and cross_entropy, forward and backward; targets are range-checked on the host.
#include "launch.hpp"
#include "patchzoo/backend/contracts/gradients.hpp"
#include "patchzoo/backend/contracts/transformer.hpp"
#include "patchzoo/backend/cuda/device/softmax.cuh"

namespace patchzoo {

using namespace cuda_detail;

void softmax_forward(cuda_backend& be, tensor_view<float> out, const_view<float> in) {
  contract::rowwise("softmax_forward", out, in);
  if (in.numel() == 0) return;
  cuda_device::softmax_forward_kernel<<<static_cast<unsigned>(in.dim(0)), block_size, 0, be.stream>>>(
      out.data, in.data, in.dim(1));
  check_launch("softmax_forward");
}

void softmax_backward(cuda_backend& be, tensor_view<float> din, const_view<float> dout, const_view<float> out) {
  const char* op = "softmax_backward";
  contract::rowwise<const float>(op, dout, out);
  if (!contract::wanted_gradient(op, "din", din, out)) return;
  expect_contiguous(op, "din", din);
  cuda_device::softmax_backward_kernel<<<static_cast<unsigned>(din.dim(0)), block_size, 0, be.stream>>>(
      din.data, dout.data, out.data, din.dim(1));
  check_launch(op);
}

namespace {

// Checks every target against [0, V) (ignore_index excepted) and returns how many rows count.
std::int64_t counted_rows(const char* op, const const_view<std::int32_t>& targets, std::int64_t vocab,
                          std::int32_t ignore_index) {
  const auto host = to_host(op, "targets", targets);
  contract::indices_in_range(op, "targets", host.data(), targets.numel(), static_cast<std::int32_t>(vocab),
                             ignore_index, true);
  std::int64_t counted = 0;
  for (const std::int32_t t : host) counted += t != ignore_index;
  return counted;
}

}  // namespace

std::int64_t cross_entropy_forward(cuda_backend& be, tensor_view<float> losses, tensor_view<float> probs,
                                   const_view<float> logits, const_view<std::int32_t> targets,
                                   std::int32_t ignore_index) {
  const char* op = "cross_entropy_forward";
  contract::cross_entropy(op, losses, probs, logits, targets);
  expect_contiguous(op, "probs", probs);
  expect_contiguous(op, "losses", losses);
  const std::int64_t counted = counted_rows(op, targets, logits.dim(1), ignore_index);
  if (logits.numel() == 0) return counted;
  cuda_device::cross_entropy_forward_kernel<<<static_cast<unsigned>(logits.dim(0)), block_size, 0, be.stream>>>(
      losses.data, probs.data, logits.data, targets.data, ignore_index, logits.dim(1));
  check_launch(op);
  return counted;
}

void cross_entropy_backward(cuda_backend& be, tensor_view<float> dlogits, const_view<float> probs,
                            const_view<std::int32_t> targets, std::int32_t ignore_index, float scale) {
  const char* op = "cross_entropy_backward";
  expect_rank(op, "probs", probs, 2);
  expect_contiguous(op, "probs", probs);
  expect_shape(op, "targets", targets, shape_t{probs.dim(0)});
  counted_rows(op, targets, probs.dim(1), ignore_index);
  if (!contract::wanted_gradient(op, "dlogits", dlogits, probs)) return;
  expect_contiguous(op, "dlogits", dlogits);
  cuda_device::cross_entropy_backward_kernel<<<static_cast<unsigned>(probs.dim(0)), block_size, 0, be.stream>>>(
      dlogits.data, probs.data, targets.data, ignore_index, scale, probs.dim(1));
  check_launch(op);
}

}  // namespace patchzoo
