#pragma once
// Explicit copies between host tensors and a backend's memory: upload(be, host) -> tensor_on<B, T>,
// download(be, view) -> host tensor<T>. For host backends both are plain copies.
#include <cstdint>
#include <type_traits>
#include <vector>

#include "patchzoo/backend/concepts.hpp"

namespace patchzoo {

// Copies a contiguous host view into a new tensor in B's memory.
template <backend B, class T>
tensor_on<B, std::remove_const_t<T>> upload(B& be, const tensor_view<T>& host) {
  using value = std::remove_const_t<T>;
  expect_contiguous("upload", "source", host);
  tensor_on<B, value> dst(host.shape);
  B::memory::copy_from_host(dst.data(), host.data, dst.bytes());
  return dst;
}

template <backend B, class T>
tensor_on<B, T> upload(B& be, const tensor<T>& host) {
  return upload(be, host.cview());
}

// A host vector becomes a 1-D tensor: the index lists (ids, targets, offsets) models build per batch.
template <backend B, class T>
tensor_on<B, T> upload(B& be, const std::vector<T>& host) {
  return upload(be, const_view<T>(host.data(), shape_t{static_cast<std::int64_t>(host.size())}));
}

// Waits for B's pending work, then copies a contiguous view in B's memory into a new host tensor.
template <backend B, class T>
tensor<std::remove_const_t<T>> download(B& be, const tensor_view<T>& src) {
  using value = std::remove_const_t<T>;
  expect_contiguous("download", "source", src);
  be.synchronize();
  tensor<value> dst(src.shape);
  B::memory::copy_to_host(dst.data(), src.data, dst.bytes());
  return dst;
}

template <backend B, class T>
tensor<T> download(B& be, const tensor_on<B, T>& src) {
  return download(be, src.cview());
}

}  // namespace patchzoo
