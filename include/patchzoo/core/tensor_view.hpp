#pragma once
// A non-owning, strided view of a tensor in some memory space. Ops take views, never containers,
// so one op signature serves owning tensors, parameter-arena slices and sub-ranges alike.
#include <cstdint>
#include <string>
#include <type_traits>

#include "patchzoo/core/dtype.hpp"
#include "patchzoo/core/shape.hpp"

namespace patchzoo {

template <class T>
struct tensor_view {
  T* data = nullptr;
  shape_t shape;
  std::array<std::int64_t, max_rank> strides{0, 0, 0, 0};

  tensor_view() = default;
  tensor_view(T* ptr, shape_t s) : data(ptr), shape(s), strides(contiguous_strides(s)) {}
  tensor_view(T* ptr, shape_t s, std::array<std::int64_t, max_rank> st) : data(ptr), shape(s), strides(st) {}

  // A view of T converts to a view of const T.
  template <class U>
    requires(std::is_const_v<T> && std::is_same_v<std::remove_const_t<T>, U>)
  tensor_view(const tensor_view<U>& other) : data(other.data), shape(other.shape), strides(other.strides) {}

  int rank() const { return shape.rank; }
  std::int64_t dim(int axis) const { return shape.dims[axis]; }
  std::int64_t numel() const { return shape.numel(); }
  bool empty() const { return data == nullptr || numel() == 0; }

  bool is_contiguous() const { return strides == contiguous_strides(shape); }

  // The same memory seen with another shape of equal element count (contiguous views only).
  tensor_view reshape(shape_t s) const {
    check(is_contiguous(), "reshape", "view with shape ", shape, " is not contiguous");
    check(s.numel() == numel(), "reshape", "cannot view ", shape, " as ", s);
    return tensor_view(data, s);
  }

  // Rows [begin, end) along axis 0 of a contiguous view.
  tensor_view slice_rows(std::int64_t begin, std::int64_t end) const {
    check(rank() >= 1 && 0 <= begin && begin <= end && end <= dim(0), "slice_rows", "range [", begin, ", ", end,
          ") out of bounds for shape ", shape);
    shape_t s = shape;
    s.dims[0] = end - begin;
    return tensor_view(data + begin * strides[0], s, strides);
  }
};

template <class T>
using const_view = tensor_view<const T>;

// Shape checks used at the top of every op; the message names the op and the tensor.
template <class T>
void expect_shape(const char* op, const char* name, const tensor_view<T>& v, shape_t expected) {
  check(v.shape == expected, op, name, " has shape ", v.shape, ", expected ", expected);
}
template <class T>
void expect_contiguous(const char* op, const char* name, const tensor_view<T>& v) {
  check(v.is_contiguous(), op, name, " with shape ", v.shape, " must be contiguous");
}
template <class T>
void expect_rank(const char* op, const char* name, const tensor_view<T>& v, int rank) {
  check(v.rank() == rank, op, name, " has rank ", v.rank(), " (shape ", v.shape, "), expected rank ", rank);
}

}  // namespace patchzoo
