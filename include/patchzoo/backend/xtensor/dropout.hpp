#pragma once
// Reference dropout: element i is kept iff uniform01_packed(seed, i) >= p and then scaled by 1/(1-p), so every
// backend draws the same mask from the counter-based RNG without storing it.
#include "patchzoo/backend/contracts/transformer.hpp"
#include "patchzoo/backend/xtensor/xt_includes.hpp"
#include "patchzoo/core/rng.hpp"

namespace patchzoo {

struct xtensor_backend;

namespace xt_detail {

// The mask value of element i: 0 when dropped, 1/(1-p) when kept.
inline double dropout_mask(float p, std::uint64_t seed, std::size_t i) {
  return uniform01_packed(seed, i) >= p ? 1.0 / (1.0 - static_cast<double>(p)) : 0.0;
}

}  // namespace xt_detail

template <real T>
void dropout_forward(xtensor_backend&, tensor_view<T> out, const_view<T> in, float p, std::uint64_t seed) {
  const char* op = "dropout_forward";
  contract::dropout_probability(op, p);
  contract::elementwise(op, out, in);
  auto Y = xt_detail::adapt(out);
  auto X = xt_detail::adapt(in);
  for (std::size_t i = 0; i < X.size(); ++i) Y.flat(i) = static_cast<T>(X.flat(i) * xt_detail::dropout_mask(p, seed, i));
}

template <real T>
void dropout_backward(xtensor_backend&, tensor_view<T> din, const_view<T> dout, float p, std::uint64_t seed) {
  const char* op = "dropout_backward";
  contract::dropout_probability(op, p);
  if (din.empty()) return;
  contract::elementwise(op, din, dout);
  auto D = xt_detail::adapt(din);
  auto G = xt_detail::adapt(dout);
  for (std::size_t i = 0; i < G.size(); ++i) D.flat(i) += static_cast<T>(G.flat(i) * xt_detail::dropout_mask(p, seed, i));
}

}  // namespace patchzoo
