#pragma once
// PNG output through stb_image_write (Debian libstb-dev). The implementation is compiled static into
// every translation unit that includes this header, so the library stays header-only and two units
// never clash at link time. Files are replaced atomically (temp file + rename).
#include <cstdint>
#include <filesystem>
#include <vector>

#include "patchzoo/core/error.hpp"
#include "patchzoo/image/rgb_image.hpp"
#include "patchzoo/io/atomic_file.hpp"

#ifndef STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#include <stb/stb_image_write.h>
#pragma GCC diagnostic pop
#endif

namespace patchzoo::image {

namespace png_detail {

inline void append_bytes(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<std::uint8_t>*>(context);
  const auto* p = static_cast<const std::uint8_t*>(data);
  out->insert(out->end(), p, p + size);
}

// Encodes `channels` (1 grey, 3 RGB) row-major bytes and writes them to `path` atomically.
inline void write_png(const std::filesystem::path& path, const std::uint8_t* pixels, std::int64_t width,
                      std::int64_t height, int channels) {
  check(width > 0 && height > 0 && width <= 1 << 15 && height <= 1 << 15, "write_png", path.string(), ": size ",
        width, "x", height, " is not in 1..32768");
  std::vector<std::uint8_t> encoded;
  const int ok = stbi_write_png_to_func(append_bytes, &encoded, static_cast<int>(width), static_cast<int>(height),
                                        channels, pixels, static_cast<int>(width * channels));
  check(ok != 0 && !encoded.empty(), "write_png", "encoding a ", width, "x", height, "x", channels, " image for ",
        path.string(), " failed");
  write_file_atomically(path, [&](file_sink& sink) { sink.write(encoded.data(), encoded.size()); });
}

}  // namespace png_detail

// A width x height grey PNG from row-major bytes.
inline void write_png_grey(const std::filesystem::path& path, const std::uint8_t* pixels, std::int64_t width,
                           std::int64_t height) {
  png_detail::write_png(path, pixels, width, height, 1);
}

inline void write_png(const std::filesystem::path& path, const rgb_image& img) {
  check(static_cast<std::int64_t>(img.rgb.size()) == img.width * img.height * 3, "write_png", path.string(),
        ": canvas ", img.width, "x", img.height, " holds ", img.rgb.size(), " bytes");
  png_detail::write_png(path, img.rgb.data(), img.width, img.height, 3);
}

}  // namespace patchzoo::image
