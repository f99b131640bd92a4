// fill, copy, add, accumulate, scale, sum, sum_squares.
#include "launch.hpp"
#include "patchzoo/backend/contracts/transformer.hpp"
#include "patchzoo/backend/cuda/device/elementwise.cuh"

namespace patchzoo {

using namespace cuda_detail;

void fill(cuda_backend& be, tensor_view<float> x, float value) {
  expect_contiguous("fill", "x", x);
  if (x.numel() == 0) return;
  cuda_device::fill_kernel<<<grid_for(x.numel()), block_size, 0, be.stream>>>(x.data, x.numel(), value);
  check_launch("fill");
}

void copy(cuda_backend& be, tensor_view<float> dst, const_view<float> src) {
  contract::elementwise("copy", dst, src);
  if (dst.numel() == 0) return;
  cuda_check(cudaMemcpyAsync(dst.data, src.data, dst.numel() * sizeof(float), cudaMemcpyDeviceToDevice, be.stream),
             "copy: cudaMemcpyAsync");
}

void add(cuda_backend& be, tensor_view<float> out, const_view<float> a, const_view<float> b) {
  contract::elementwise("add", out, a);
  contract::elementwise("add", out, b);
  if (out.numel() == 0) return;
  cuda_device::add_kernel<<<grid_for(out.numel()), block_size, 0, be.stream>>>(out.data, a.data, b.data, out.numel());
  check_launch("add");
}

void accumulate(cuda_backend& be, tensor_view<float> dst, const_view<float> src, float alpha) {
  contract::elementwise("accumulate", dst, src);
  if (dst.numel() == 0) return;
  cuda_device::accumulate_kernel<<<grid_for(dst.numel()), block_size, 0, be.stream>>>(dst.data, src.data,
                                                                                      dst.numel(), alpha);
  check_launch("accumulate");
}

void scale(cuda_backend& be, tensor_view<float> x, float alpha) {
  expect_contiguous("scale", "x", x);
  if (x.numel() == 0) return;
  cuda_device::scale_kernel<<<grid_for(x.numel()), block_size, 0, be.stream>>>(x.data, x.numel(), alpha);
  check_launch("scale");
}

namespace {

// Two passes into the backend's scratch buffer, then one 8-byte copy back (which waits for the stream).
double reduce(cuda_backend& be, const char* op, const_view<float> x, bool squares) {
  expect_contiguous(op, "x", x);
  if (x.numel() == 0) return 0.0;
  const unsigned blocks = std::min<unsigned>(grid_for(x.numel()), cuda_backend::reduction_slots);
  cuda_device::partial_sums_kernel<<<blocks, block_size, 0, be.stream>>>(x.data, x.numel(), squares,
                                                                        be.reduction_scratch);
  check_launch(op);
  cuda_device::final_sum_kernel<<<1, block_size, 0, be.stream>>>(be.reduction_scratch, static_cast<int>(blocks));
  check_launch(op);
  double result = 0.0;
  cuda_check(cudaMemcpyAsync(&result, be.reduction_scratch, sizeof(double), cudaMemcpyDeviceToHost, be.stream),
             detail::concat(op, ": cudaMemcpyAsync").c_str());
  be.synchronize();
  return result;
}

}  // namespace

double sum(cuda_backend& be, const_view<float> x) { return reduce(be, "sum", x, false); }
double sum_squares(cuda_backend& be, const_view<float> x) { return reduce(be, "sum_squares", x, true); }

}  // namespace patchzoo
