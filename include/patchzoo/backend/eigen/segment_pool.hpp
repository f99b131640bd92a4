#pragma once
// Segment max-pooling: out[s] = max over rows offsets[s]..offsets[s+1] of in[T, D], with the winning row
// saved per element (first maximum wins; -1 and output 0 for an empty segment).
#include "patchzoo/backend/contracts/gradients.hpp"
#include "patchzoo/backend/contracts/index_values.hpp"
#include "patchzoo/backend/contracts/transformer.hpp"
#include "patchzoo/backend/eigen/eigen_includes.hpp"

namespace patchzoo {

struct eigen_backend;

template <real T>
void segment_maxpool_forward(eigen_backend&, tensor_view<T> out, tensor_view<std::int32_t> argmax, const_view<T> in,
                             const_view<std::int32_t> offsets) {
  const char* op = "segment_maxpool_forward";
  contract::segment_maxpool(op, out, argmax, in, offsets);
  expect_contiguous(op, "input", in);
  expect_contiguous(op, "output", out);
  expect_contiguous(op, "argmax", argmax);
  expect_contiguous(op, "offsets", offsets);
  contract::segment_offsets(op, offsets.data, offsets.numel(), in.dim(0));
  const std::int64_t segments = out.dim(0), d = in.dim(1);
  eigen_detail::parallel_for(segments, in.numel(), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t s = lo; s < hi; ++s) {
      const std::int32_t begin = offsets.data[s], end = offsets.data[s + 1];
      T* y = out.data + s * d;
      std::int32_t* a = argmax.data + s * d;
      if (begin == end) {
        std::fill(y, y + d, T(0));
        std::fill(a, a + d, -1);
        continue;
      }
      // Row-major sweep: each row updates the running max of every column (strict > keeps the first).
      std::copy(in.data + begin * d, in.data + (begin + 1) * d, y);
      std::fill(a, a + d, begin);
      for (std::int32_t t = begin + 1; t < end; ++t) {
        const T* x = in.data + t * d;
        for (std::int64_t c = 0; c < d; ++c)
          if (x[c] > y[c]) {
            y[c] = x[c];
            a[c] = t;
          }
      }
    }
  });
}

// din[argmax[s, d], d] += dout[s, d]; -1 (an empty segment) routes nothing.
template <real T>
void segment_maxpool_backward(eigen_backend&, tensor_view<T> din, const_view<T> dout, const_view<std::int32_t> argmax) {
  const char* op = "segment_maxpool_backward";
  expect_rank(op, "dout", dout, 2);
  expect_contiguous(op, "dout", dout);
  expect_shape(op, "argmax", argmax, dout.shape);
  expect_contiguous(op, "argmax", argmax);
  if (din.empty()) return;
  expect_rank(op, "din", din, 2);
  expect_contiguous(op, "din", din);
  check(din.dim(1) == dout.dim(1), op, "din ", din.shape, " and dout ", dout.shape, " differ in width");
  contract::argmax_slots(op, argmax.data, argmax.numel(), din.dim(0), true);
  const std::int64_t d = dout.dim(1);
  // Split by columns: whatever rows argmax names, two threads never touch the same element of din.
  eigen_detail::parallel_for(d, dout.numel(), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t s = 0; s < dout.dim(0); ++s)
      for (std::int64_t c = lo; c < hi; ++c) {
        const std::int32_t t = argmax.data[s * d + c];
        if (t >= 0) din.data[t * d + c] += dout.data[s * d + c];
      }
  });
}

}  // namespace patchzoo
