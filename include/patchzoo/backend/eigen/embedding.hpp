#pragma once
// Token embedding: a row gather forward, a row scatter-add backward (split by columns, so repeated
// ids never race).
#include <cstring>

#include "patchzoo/backend/contracts/transformer.hpp"
#include "patchzoo/backend/eigen/eigen_includes.hpp"

namespace patchzoo {

struct eigen_backend;

template <real T>
void embedding_forward(eigen_backend&, tensor_view<T> out, const_view<std::int32_t> ids, const_view<T> table) {
  contract::embedding("embedding_forward", out, ids, table);
  expect_contiguous("embedding_forward", "ids", ids);
  expect_contiguous("embedding_forward", "output", out);
  contract::indices_in_range("embedding_forward", "ids", ids.data, ids.numel(), static_cast<std::int32_t>(table.dim(0)));
  const std::int64_t d = table.dim(1);
  T* po = out.data;
  const T* pt = table.data;
  const std::int32_t* pi = ids.data;
  eigen_detail::parallel_for(ids.numel(), out.numel(), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i) std::memcpy(po + i * d, pt + pi[i] * d, static_cast<std::size_t>(d) * sizeof(T));
  });
}

template <real T>
void embedding_backward(eigen_backend&, tensor_view<T> dtable, const_view<T> dout, const_view<std::int32_t> ids) {
  if (dtable.empty()) return;
  contract::embedding<const T>("embedding_backward", dout, ids, const_view<T>(dtable));
  expect_contiguous("embedding_backward", "ids", ids);
  expect_contiguous("embedding_backward", "dout", dout);
  contract::indices_in_range("embedding_backward", "ids", ids.data, ids.numel(), static_cast<std::int32_t>(dtable.dim(0)));
  const std::int64_t d = dtable.dim(1), n = ids.numel();
  T* pt = dtable.data;
  const T* po = dout.data;
  const std::int32_t* pi = ids.data;
  eigen_detail::parallel_for(d, dout.numel(), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = 0; i < n; ++i) {
      T* dst = pt + pi[i] * d;
      const T* src = po + i * d;
      for (std::int64_t c = lo; c < hi; ++c) dst[c] += src[c];
    }
  });
}

}  // namespace patchzoo
