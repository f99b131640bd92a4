#pragma once
// Inverted dropout with the library's counter-based mask: element i is kept iff uniform01_packed(seed, i)
// >= p, so every backend and thread count draws the same mask without storing it.
#include "patchzoo/backend/contracts/transformer.hpp"
#include "patchzoo/backend/eigen/eigen_includes.hpp"
#include "patchzoo/core/rng.hpp"

namespace patchzoo {

struct eigen_backend;

namespace eigen_detail {

// Calls f(i, u_i) for i in [lo, hi) with u_i = uniform01_packed(seed, i), one Philox block per four
// elements: the draw is most of dropout's cost.
template <class F>
void for_each_dropout_uniform(std::int64_t lo, std::int64_t hi, std::uint64_t seed, F&& f) {
  for (std::int64_t i = lo; i < hi;) {
    const philox_block block = philox4x32(seed, static_cast<std::uint64_t>(i) >> 2);
    for (const std::int64_t end = std::min(hi, (i | 3) + 1); i < end; ++i)
      f(i, unit_float24(block.v[i & 3]));
  }
}

}  // namespace eigen_detail

template <real T>
void dropout_forward(eigen_backend&, tensor_view<T> out, const_view<T> in, float p, std::uint64_t seed) {
  contract::dropout_probability("dropout_forward", p);
  contract::elementwise("dropout_forward", out, in);
  const T keep_scale = static_cast<T>(1.0 / (1.0 - static_cast<double>(p)));
  // The Philox draw dominates the cost, so threads pay off at a tenth of the usual size.
  eigen_detail::parallel_for(in.numel(), in.numel() * 10, [&](std::int64_t lo, std::int64_t hi) {
    eigen_detail::for_each_dropout_uniform(lo, hi, seed, [&](std::int64_t i, float u) {
      out.data[i] = u >= p ? in.data[i] * keep_scale : T(0);
    });
  });
}

template <real T>
void dropout_backward(eigen_backend&, tensor_view<T> din, const_view<T> dout, float p, std::uint64_t seed) {
  contract::dropout_probability("dropout_backward", p);
  if (din.empty()) return;
  contract::elementwise("dropout_backward", din, dout);
  const T keep_scale = static_cast<T>(1.0 / (1.0 - static_cast<double>(p)));
  eigen_detail::parallel_for(dout.numel(), dout.numel() * 10, [&](std::int64_t lo, std::int64_t hi) {
    eigen_detail::for_each_dropout_uniform(lo, hi, seed, [&](std::int64_t i, float u) {
      if (u >= p) din.data[i] += dout.data[i] * keep_scale;
    });
  });
}

}  // namespace patchzoo
