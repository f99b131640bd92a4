#pragma once
// Reference GEMM: the textbook triple loop in double accumulation, batched over the leading dim.
#include "patchzoo/backend/contracts/transformer.hpp"
#include "patchzoo/backend/xtensor/xt_includes.hpp"

namespace patchzoo {

struct xtensor_backend;

template <real T>
void matmul(xtensor_backend&, tensor_view<T> c, const_view<T> a, const_view<T> b, bool trans_a, bool trans_b,
            T alpha = T(1), T beta = T(0)) {
  const auto d = contract::matmul(c, a, b, trans_a, trans_b);
  const std::size_t bb = static_cast<std::size_t>(d.batch), m = d.m, n = d.n, k = d.k;
  auto A = xt_detail::adapt_as(a, {a.rank() == 3 ? bb : 1, trans_a ? k : m, trans_a ? m : k});
  auto B = xt_detail::adapt_as(b, {b.rank() == 3 ? bb : 1, trans_b ? n : k, trans_b ? k : n});
  auto C = xt_detail::adapt_as(c, {bb, m, n});
  for (std::size_t p = 0; p < bb; ++p) {
    const std::size_t pa = a.rank() == 3 ? p : 0, pb = b.rank() == 3 ? p : 0;
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        double acc = 0.0;
        for (std::size_t q = 0; q < k; ++q) {
          const double av = trans_a ? A(pa, q, i) : A(pa, i, q);
          const double bv = trans_b ? B(pb, j, q) : B(pb, q, j);
          acc += av * bv;
        }
        // beta == 0 overwrites, so garbage (even NaN) in c never leaks into the result.
        C(p, i, j) = static_cast<T>(alpha * acc + (beta == T(0) ? 0.0 : beta * static_cast<double>(C(p, i, j))));
      }
  }
}

}  // namespace patchzoo
