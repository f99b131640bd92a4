#pragma once
// All parameters of a model in one allocation, cut into named slices (llm.c's parameter arena).
// Gradients and optimizer moments are arenas with the same layout, so one call can clip or update
// everything, and checkpoints walk the slices by name. Each arena holds its own copy of the layout (names
// and offsets, small next to the buffer), so arenas, the models that own them and optimizers built from
// them can move freely: nothing points into another object.
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "patchzoo/backend/concepts.hpp"
#include "patchzoo/io/checked_size.hpp"

namespace patchzoo::nn {

struct param_slice {
  std::string name;
  shape_t shape;
  std::int64_t offset = 0;  // in elements from the arena start
  friend bool operator==(const param_slice&, const param_slice&) = default;
};

// The layout alone: names, shapes, offsets. Built once per model; its arenas copy it.
class param_layout {
 public:
  // Returns the slice index; names must be unique.
  std::size_t add(std::string name, shape_t shape) {
    for (const auto& s : slices_) check(s.name != name, "param_layout", "duplicate parameter name '", name, "'");
    // Checked: the shapes may come from a file's architecture spec, and a wrapped count would under-allocate.
    const std::int64_t n = checked_product(std::span(shape.dims.data(), static_cast<std::size_t>(shape.rank)),
                                           "param_layout: parameter '" + name + "' of shape " + shape.str());
    check(n > 0, "param_layout", "parameter '", name, "' has empty shape ", shape);
    const std::int64_t total = checked_add(total_, n, "param_layout: parameter count");
    slices_.push_back({std::move(name), shape, total_});
    total_ = total;
    return slices_.size() - 1;
  }
  const std::vector<param_slice>& slices() const { return slices_; }
  std::int64_t total() const { return total_; }
  const param_slice& find(const std::string& name) const {
    for (const auto& s : slices_)
      if (s.name == name) return s;
    throw error("param_layout: no parameter named '" + name + "'");
  }
  friend bool operator==(const param_layout&, const param_layout&) = default;

 private:
  std::vector<param_slice> slices_;
  std::int64_t total_ = 0;
};

// One buffer in backend memory laid out by a param_layout.
template <backend B, real T>
class param_arena {
 public:
  param_arena() = default;
  explicit param_arena(param_layout layout) : layout_(std::move(layout)), buffer_(shape_t{layout_.total()}) {}

  tensor_view<T> operator[](std::size_t index) {
    const auto& s = layout_.slices()[index];
    return {buffer_.data() + s.offset, s.shape};
  }
  const_view<T> operator[](std::size_t index) const {
    const auto& s = layout_.slices()[index];
    return {buffer_.data() + s.offset, s.shape};
  }
  tensor_view<T> flat() { return buffer_.view(); }
  const_view<T> flat() const { return buffer_.cview(); }
  const param_layout& layout() const { return layout_; }
  std::size_t bytes() const { return static_cast<std::size_t>(layout_.total()) * sizeof(T); }
  void zero() { buffer_.zero(); }

 private:
  param_layout layout_;
  tensor_on<B, T> buffer_;
};

}  // namespace patchzoo::nn
