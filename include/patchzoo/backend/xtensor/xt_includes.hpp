#pragma once
// The one place that includes xtensor: 0.24-0.25 use flat paths, 0.26+ moved headers into subfolders.
#include <xtensor/xtensor_config.hpp>

#if XTENSOR_VERSION_MAJOR == 0 && XTENSOR_VERSION_MINOR < 26
#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xtensor.hpp>
#include <xtensor/xview.hpp>
#else
#include <xtensor/containers/xadapt.hpp>
#include <xtensor/containers/xarray.hpp>
#include <xtensor/containers/xtensor.hpp>
#include <xtensor/core/xmath.hpp>
#include <xtensor/views/xview.hpp>
#endif

#include <vector>

#include "patchzoo/core/tensor_view.hpp"

namespace patchzoo::xt_detail {

// Adapts a contiguous view as an xtensor expression of its own shape, without copying.
template <class T>
auto adapt(const tensor_view<T>& v) {
  std::vector<std::size_t> shape(v.shape.dims.begin(), v.shape.dims.begin() + v.rank());
  return xt::adapt(v.data, static_cast<std::size_t>(v.numel()), xt::no_ownership(), shape);
}

// The same memory as a 2-D [rows, last] expression.
template <class T>
auto adapt_2d(const tensor_view<T>& v) {
  const std::vector<std::size_t> shape{static_cast<std::size_t>(v.shape.rows()),
                                       static_cast<std::size_t>(v.shape.last())};
  return xt::adapt(v.data, static_cast<std::size_t>(v.numel()), xt::no_ownership(), shape);
}

// The same memory seen with an explicit shape (element counts must match).
template <class T>
auto adapt_as(const tensor_view<T>& v, std::vector<std::size_t> shape) {
  return xt::adapt(v.data, static_cast<std::size_t>(v.numel()), xt::no_ownership(), shape);
}

// Row (t, h) of a [T, H, D] view whose rows may be strided (slices of a fused QKV buffer), as a 1-D
// expression of its D contiguous elements.
template <class T>
auto adapt_head(const tensor_view<T>& v, std::int64_t t, std::int64_t h) {
  const std::size_t d = static_cast<std::size_t>(v.dim(2));
  const std::vector<std::size_t> shape{d};
  return xt::adapt(v.data + t * v.strides[0] + h * v.strides[1], d, xt::no_ownership(), shape);
}

}  // namespace patchzoo::xt_detail
