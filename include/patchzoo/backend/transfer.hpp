#pragma once
// Explicit copies between host tensors and a backend's memory: upload(be, host) -> tensor_on<B, T>,
// download(be, view) -> host tensor<T>. For host backends both are plain copies.
#include <type_traits>

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
