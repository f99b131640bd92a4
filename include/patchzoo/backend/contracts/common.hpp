#pragma once
// Shared helpers for the op contracts: every backend calls the same contract function at the top of
// each op, so bad input gets the same clear message whichever backend runs it.
#include <cmath>
#include <cstdint>

#include "patchzoo/core/tensor_view.hpp"

namespace patchzoo::contract {

template <class T>
void nonempty(const char* op, const char* name, const tensor_view<T>& v) {
  check(v.numel() > 0 && v.data != nullptr, op, name, " is empty (shape ", v.shape, ")");
}

template <class A, class B>
void same_shape(const char* op, const char* na, const tensor_view<A>& a, const char* nb, const tensor_view<B>& b) {
  check(a.shape == b.shape, op, na, " has shape ", a.shape, " but ", nb, " has shape ", b.shape);
}

// Rows of [.., H, D] tensors may be strided (slices of a fused QKV buffer); the last two dims may not.
template <class T>
void rows_strided_heads(const char* op, const char* name, const tensor_view<T>& v) {
  check(v.rank() == 3, op, name, " has shape ", v.shape, ", expected [tokens, heads, head_dim]");
  check(v.strides[2] == 1 && v.strides[1] == v.dim(2) && v.strides[0] >= v.dim(1) * v.dim(2), op, name,
        " with shape ", v.shape, " must be contiguous within each row");
}

// Host-side scan for NaN / Inf in an input (host memory only; device backends check on download).
template <class T>
void finite(const char* op, const char* name, const tensor_view<T>& v) {
  for (std::int64_t i = 0; i < v.numel(); ++i)
    check(std::isfinite(static_cast<double>(v.data[i])), op, name, " holds a non-finite value (",
          static_cast<double>(v.data[i]), ") at element ", i);
}

}  // namespace patchzoo::contract

namespace patchzoo::contract {

// Index values live in host memory here; device backends copy indices to the host first.
inline void indices_in_range(const char* op, const char* name, const std::int32_t* ids, std::int64_t n,
                             std::int32_t limit, std::int32_t ignore_value = -1, bool allow_ignore = false) {
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int32_t id = ids[i];
    if (allow_ignore && id == ignore_value) continue;
    check(id >= 0 && id < limit, op, name, " value ", id, " at position ", i, " is out of range [0, ", limit, ")");
  }
}

}  // namespace patchzoo::contract
