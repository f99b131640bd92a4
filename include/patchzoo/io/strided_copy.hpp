#pragma once
// Copies between a possibly strided view and a packed row-major buffer, for I/O of views that are
// slices of larger buffers. Unused trailing dims of shape_t are 1 with stride 0, so four loops cover every rank.
#include <cstdint>

#include "patchzoo/core/tensor_view.hpp"

namespace patchzoo::io_detail {

template <class T, class Fn>
void for_each_strided(const tensor_view<T>& v, Fn&& fn) {
  const auto& d = v.shape.dims;
  const auto& s = v.strides;
  std::int64_t packed = 0;
  for (std::int64_t i0 = 0; i0 < d[0]; ++i0)
    for (std::int64_t i1 = 0; i1 < d[1]; ++i1)
      for (std::int64_t i2 = 0; i2 < d[2]; ++i2)
        for (std::int64_t i3 = 0; i3 < d[3]; ++i3)
          fn(packed++, i0 * s[0] + i1 * s[1] + i2 * s[2] + i3 * s[3]);
}

template <class T>
void gather(const_view<T> src, T* packed) {
  for_each_strided(src, [&](std::int64_t i, std::int64_t off) { packed[i] = src.data[off]; });
}

template <class T>
void scatter(tensor_view<T> dst, const T* packed) {
  for_each_strided(dst, [&](std::int64_t i, std::int64_t off) { dst.data[off] = packed[i]; });
}

}  // namespace patchzoo::io_detail
