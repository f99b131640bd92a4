#pragma once
// PNG and JPEG input through stb_image (Debian libstb-dev), compiled static per translation unit like the
// PNG writer: the figures the tests read back, and the photographs `patchzoo tokenizer encode` tokenizes.
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
#define STBI_ONLY_JPEG
#define STBI_NO_STDIO
#define STBI_MAX_DIMENSIONS 32768  // per side, the writer's limit too
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#include <stb/stb_image.h>
#pragma GCC diagnostic pop
#endif

namespace patchzoo::image {

inline constexpr std::int64_t max_image_pixels = std::int64_t{1} << 27;  // 134 M pixels: 400 MB as RGB

struct decoded_image {
  std::int64_t width = 0, height = 0;
  int channels = 0;                 // 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA
  std::vector<std::uint8_t> data;   // height x width x channels
};

// Decodes a PNG or JPEG file. channels 0 keeps the file's channels; 3 gives RGB as PIL's convert("RGB")
// does for these files (grey replicated, alpha dropped). 16-bit PNGs are reduced to 8 bits.
inline decoded_image read_image(const std::filesystem::path& path, int channels = 0) {
  check(channels >= 0 && channels <= 4, "read_image", "channels must be 0..4, not ", channels);
  std::ifstream in(path, std::ios::binary);
  check(in.good(), "read_image", "cannot open ", path.string());
  const std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  check(bytes.size() < (std::size_t{1} << 31), "read_image", path.string(), " is larger than 2 GiB");
  int w = 0, h = 0, stored = 0;
  // The header's size first, so that a forged one cannot make the decoder allocate gigabytes.
  if (stbi_info_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &stored) == 1)
    check(static_cast<std::int64_t>(w) * h <= max_image_pixels, "read_image", path.string(), " is ", w, "x", h,
          " pixels, more than the ", max_image_pixels, " read_image accepts");
  stbi_uc* decoded = stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &stored, channels);
  check(decoded != nullptr, "read_image", path.string(), " is not a readable PNG or JPEG image (",
        stbi_failure_reason(), ")");
  const int kept = channels == 0 ? stored : channels;
  decoded_image out{w, h, kept, std::vector<std::uint8_t>(decoded, decoded + static_cast<std::size_t>(w) * h * kept)};
  stbi_image_free(decoded);
  return out;
}

}  // namespace patchzoo::image
