#pragma once
// PNG input through stb_image (Debian libstb-dev), compiled static per translation unit like the
// writer. Used to check written figures; PNG is the only format decoded.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "patchzoo/core/error.hpp"

#ifndef STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_NO_STDIO
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#include <stb/stb_image.h>
#pragma GCC diagnostic pop
#endif

namespace patchzoo::image {

struct png_pixels {
  std::int64_t width = 0, height = 0;
  int channels = 0;                 // as stored in the file: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA
  std::vector<std::uint8_t> data;   // height x width x channels
};

inline png_pixels read_png(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  check(in.good(), "read_png", "cannot open ", path.string());
  const std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  int w = 0, h = 0, channels = 0;
  stbi_uc* decoded =
      stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &channels, 0);
  check(decoded != nullptr, "read_png", path.string(), " is not a readable PNG (", stbi_failure_reason(), ")");
  png_pixels out{w, h, channels, std::vector<std::uint8_t>(decoded, decoded + static_cast<std::size_t>(w) * h * channels)};
  stbi_image_free(decoded);
  return out;
}

}  // namespace patchzoo::image
