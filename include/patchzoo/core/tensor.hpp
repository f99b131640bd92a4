#pragma once
// Owning, contiguous, row-major tensor in a memory space (host by default). Move-only: copies of
// device buffers must be explicit (clone(), upload, download).
#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "patchzoo/core/memory.hpp"
#include "patchzoo/core/tensor_view.hpp"

namespace patchzoo {

template <class T, class Memory = host_memory>
class tensor {
 public:
  using value_type = T;
  using memory = Memory;

  // A default-constructed (or moved-from) tensor is empty: shape [0], no memory.
  tensor() = default;
  explicit tensor(shape_t s) : shape_(s) {
    data_ = static_cast<T*>(Memory::allocate(bytes()));
    Memory::zero(data_, bytes());
  }
  // Host tensors only: build from values (row-major).
  tensor(shape_t s, const std::vector<T>& values)
    requires Memory::is_host
      : tensor(s) {
    check(static_cast<std::int64_t>(values.size()) == s.numel(), "tensor", "shape ", s.str(), " needs ", s.numel(),
          " values, got ", values.size());
    std::copy(values.begin(), values.end(), data_);
  }
  ~tensor() { Memory::deallocate(data_); }

  tensor(tensor&& o) noexcept : data_(std::exchange(o.data_, nullptr)), shape_(std::exchange(o.shape_, shape_t{0})) {}
  tensor& operator=(tensor&& o) noexcept {
    if (this != &o) {
      Memory::deallocate(data_);
      data_ = std::exchange(o.data_, nullptr);
      shape_ = std::exchange(o.shape_, shape_t{0});
    }
    return *this;
  }
  tensor(const tensor&) = delete;
  tensor& operator=(const tensor&) = delete;

  tensor clone() const {
    tensor t(shape_);
    Memory::copy(t.data_, data_, bytes());
    return t;
  }

  T* data() { return data_; }
  const T* data() const { return data_; }
  const shape_t& shape() const { return shape_; }
  int rank() const { return shape_.rank; }
  std::int64_t dim(int axis) const { return shape_.dims[axis]; }
  std::int64_t numel() const { return shape_.numel(); }
  std::size_t bytes() const { return static_cast<std::size_t>(numel()) * sizeof(T); }
  bool empty() const { return numel() == 0; }

  tensor_view<T> view() { return {data_, shape_}; }
  const_view<T> view() const { return {data_, shape_}; }
  const_view<T> cview() const { return {data_, shape_}; }
  operator tensor_view<T>() { return view(); }
  operator const_view<T>() const { return view(); }

  void zero() { Memory::zero(data_, bytes()); }

  // Element access for host tensors (tests, examples, small host-side loops).
  T& operator[](std::int64_t i)
    requires Memory::is_host
  {
    return data_[i];
  }
  const T& operator[](std::int64_t i) const
    requires Memory::is_host
  {
    return data_[i];
  }
  std::vector<T> to_vector() const
    requires Memory::is_host
  {
    return std::vector<T>(data_, data_ + numel());
  }

 private:
  T* data_ = nullptr;
  shape_t shape_{0};
};

}  // namespace patchzoo
