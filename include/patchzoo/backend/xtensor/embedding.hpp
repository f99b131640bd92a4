#pragma once
// Reference token embedding: a row gather forward, a row scatter-add backward.
#include "patchzoo/backend/contracts/transformer.hpp"
#include "patchzoo/backend/xtensor/xt_includes.hpp"

namespace patchzoo {

struct xtensor_backend;

template <real T>
void embedding_forward(xtensor_backend&, tensor_view<T> out, const_view<std::int32_t> ids, const_view<T> table) {
  const char* op = "embedding_forward";
  contract::embedding(op, out, ids, table);
  expect_contiguous(op, "ids", ids);
  expect_contiguous(op, "output", out);
  contract::indices_in_range(op, "ids", ids.data, ids.numel(), static_cast<std::int32_t>(table.dim(0)));
  auto O = xt_detail::adapt(out);
  auto W = xt_detail::adapt(table);
  for (std::int64_t n = 0; n < ids.dim(0); ++n) xt::row(O, n) = xt::row(W, ids.data[n]);
}

template <real T>
void embedding_backward(xtensor_backend&, tensor_view<T> dtable, const_view<T> dout, const_view<std::int32_t> ids) {
  const char* op = "embedding_backward";
  if (dtable.empty()) return;
  contract::embedding<const T>(op, dout, ids, const_view<T>(dtable));
  expect_contiguous(op, "ids", ids);
  expect_contiguous(op, "dout", dout);
  contract::indices_in_range(op, "ids", ids.data, ids.numel(), static_cast<std::int32_t>(dtable.dim(0)));
  auto G = xt_detail::adapt(dtable);
  auto D = xt_detail::adapt(dout);
  for (std::int64_t n = 0; n < ids.dim(0); ++n) xt::row(G, ids.data[n]) += xt::row(D, n);
}

}  // namespace patchzoo
