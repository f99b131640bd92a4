#pragma once
// Whole-dataset preprocessing, applied once before training: centred padding (28 -> 32, so 4x4 or 8x8
// patches tile the image) and bicubic upsampling (28 -> 48). Labels are kept as they are.
#include <cstdint>

#include "patchzoo/data/image_dataset.hpp"
#include "patchzoo/image/resize.hpp"

namespace patchzoo::data {

inline image_dataset pad_images(const image_dataset& ds, std::int64_t size, std::uint8_t fill = 0) {
  check(size >= ds.rows && size >= ds.cols, "pad_images", "target size ", size, " is smaller than the ", ds.rows, "x",
        ds.cols, " images");
  image_dataset out{size, size, std::vector<std::uint8_t>(static_cast<std::size_t>(ds.size() * size * size)), ds.labels};
  for (std::int64_t i = 0; i < ds.size(); ++i)
    image::pad_image(ds.image(i), ds.rows, ds.cols, out.pixels.data() + i * size * size, size, size, fill);
  return out;
}

inline image_dataset resize_images_bicubic(const image_dataset& ds, std::int64_t size) {
  check(size > 0, "resize_images_bicubic", "target size ", size, " must be positive");
  image_dataset out{size, size, std::vector<std::uint8_t>(static_cast<std::size_t>(ds.size() * size * size)), ds.labels};
  for (std::int64_t i = 0; i < ds.size(); ++i)
    image::resize_bicubic(ds.image(i), ds.rows, ds.cols, out.pixels.data() + i * size * size, size, size);
  return out;
}

}  // namespace patchzoo::data
