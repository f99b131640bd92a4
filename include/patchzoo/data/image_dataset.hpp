#pragma once
// Grey images with integer labels, kept as bytes (0..255) until a batch is formed.
#include <cstdint>
#include <vector>

#include "patchzoo/core/error.hpp"

namespace patchzoo::data {

struct image_dataset {
  std::int64_t rows = 0, cols = 0;
  std::vector<std::uint8_t> pixels;  // size() x rows x cols, row-major
  std::vector<std::uint8_t> labels;  // size()

  std::int64_t size() const { return static_cast<std::int64_t>(labels.size()); }
  std::int64_t pixels_per_image() const { return rows * cols; }
  const std::uint8_t* image(std::int64_t i) const { return pixels.data() + i * pixels_per_image(); }

  // The images at `indices`, in that order.
  image_dataset subset(const std::vector<std::int64_t>& indices) const {
    image_dataset out{rows, cols, {}, {}};
    out.pixels.reserve(indices.size() * static_cast<std::size_t>(pixels_per_image()));
    for (const std::int64_t i : indices) {
      check(i >= 0 && i < size(), "image_dataset::subset", "index ", i, " is out of range [0, ", size(), ")");
      out.pixels.insert(out.pixels.end(), image(i), image(i) + pixels_per_image());
      out.labels.push_back(labels[static_cast<std::size_t>(i)]);
    }
    return out;
  }
};

}  // namespace patchzoo::data
