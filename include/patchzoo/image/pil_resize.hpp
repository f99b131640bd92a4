#pragma once
// Resizing 8-bit images the way Pillow's Image.resize does (libImaging/Resample.c), so that images prepared
// here equal the ones LlamaGen's PIL pipeline feeds its tokenizer: separable convolution with the filter
// stretched by the downscale factor (antialiasing), coefficients in 22-bit fixed point, the horizontal pass
// first into an 8-bit intermediate, then the vertical pass. Pixels are interleaved, `channels` per pixel.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "patchzoo/core/error.hpp"

namespace patchzoo::image {

enum class pil_filter { box, bicubic };

struct interleaved_image {
  std::int64_t width = 0, height = 0;
  int channels = 0;
  std::vector<std::uint8_t> data;  // height x width x channels
};

namespace pil_resize_detail {

inline constexpr int precision_bits = 32 - 8 - 2;

inline double filter_value(pil_filter f, double x) {
  if (f == pil_filter::box) return x > -0.5 && x <= 0.5 ? 1.0 : 0.0;
  constexpr double a = -0.5;  // Pillow's bicubic
  x = std::abs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

// For each output index: the first source index, the tap count and the fixed-point weights.
struct coefficients {
  std::int64_t taps = 0;            // weights per output index
  std::vector<std::int64_t> first, count;
  std::vector<std::int32_t> weight;  // out * taps
};

inline coefficients precompute(std::int64_t in, std::int64_t out, pil_filter f) {
  const double scale = static_cast<double>(in) / static_cast<double>(out);
  const double filterscale = std::max(scale, 1.0);
  const double support = (f == pil_filter::box ? 0.5 : 2.0) * filterscale;
  coefficients c;
  c.taps = static_cast<std::int64_t>(std::ceil(support)) * 2 + 1;
  c.first.resize(static_cast<std::size_t>(out));
  c.count.resize(static_cast<std::size_t>(out));
  c.weight.assign(static_cast<std::size_t>(out * c.taps), 0);
  std::vector<double> k(static_cast<std::size_t>(c.taps));
  for (std::int64_t o = 0; o < out; ++o) {
    const double center = (static_cast<double>(o) + 0.5) * scale;
    const std::int64_t lo = std::max<std::int64_t>(static_cast<std::int64_t>(center - support + 0.5), 0);
    const std::int64_t hi = std::min<std::int64_t>(static_cast<std::int64_t>(center + support + 0.5), in);
    const std::int64_t n = std::min(hi - lo, c.taps);
    double sum = 0.0;
    for (std::int64_t x = 0; x < n; ++x) {
      k[x] = filter_value(f, (static_cast<double>(x + lo) - center + 0.5) / filterscale);
      sum += k[x];
    }
    for (std::int64_t x = 0; x < n; ++x) {
      const double w = (sum != 0.0 ? k[x] / sum : k[x]) * static_cast<double>(1 << precision_bits);
      c.weight[static_cast<std::size_t>(o * c.taps + x)] = static_cast<std::int32_t>(w < 0 ? w - 0.5 : w + 0.5);
    }
    c.first[o] = lo;
    c.count[o] = n;
  }
  return c;
}

inline std::uint8_t clip8(std::int64_t v) {
  if (v <= 0) return 0;
  return static_cast<std::uint8_t>(std::min<std::int64_t>(v >> precision_bits, 255));
}

// One pass along x (along_rows) or y, reading `in` and writing `out` (already sized).
inline void pass(const interleaved_image& in, interleaved_image& out, const coefficients& c, bool along_x) {
  const int ch = in.channels;
  for (std::int64_t y = 0; y < out.height; ++y)
    for (std::int64_t x = 0; x < out.width; ++x) {
      const std::int64_t o = along_x ? x : y;
      const std::int32_t* w = c.weight.data() + o * c.taps;
      for (int k = 0; k < ch; ++k) {
        std::int64_t acc = std::int64_t{1} << (precision_bits - 1);
        for (std::int64_t t = 0; t < c.count[o]; ++t) {
          const std::int64_t sx = along_x ? c.first[o] + t : x, sy = along_x ? y : c.first[o] + t;
          acc += static_cast<std::int64_t>(in.data[static_cast<std::size_t>((sy * in.width + sx) * ch + k)]) * w[t];
        }
        out.data[static_cast<std::size_t>((y * out.width + x) * ch + k)] = clip8(acc);
      }
    }
}

}  // namespace pil_resize_detail

// Image.resize((width, height), resample=filter) of an 8-bit image; the same size returns a copy.
inline interleaved_image resize_like_pil(const interleaved_image& src, std::int64_t width, std::int64_t height,
                                         pil_filter filter) {
  using namespace pil_resize_detail;
  check(src.width > 0 && src.height > 0 && src.channels > 0 &&
            static_cast<std::int64_t>(src.data.size()) == src.width * src.height * src.channels,
        "resize_like_pil", "source of ", src.width, "x", src.height, "x", src.channels, " holds ", src.data.size(),
        " bytes");
  check(width > 0 && height > 0, "resize_like_pil", "cannot resize ", src.width, "x", src.height, " to ", width, "x",
        height);
  interleaved_image cur = src;
  if (width != cur.width) {
    interleaved_image next{width, cur.height, cur.channels,
                           std::vector<std::uint8_t>(static_cast<std::size_t>(width * cur.height * cur.channels))};
    pass(cur, next, precompute(cur.width, width, filter), true);
    cur = std::move(next);
  }
  if (height != cur.height) {
    interleaved_image next{cur.width, height, cur.channels,
                           std::vector<std::uint8_t>(static_cast<std::size_t>(cur.width * height * cur.channels))};
    pass(cur, next, precompute(cur.height, height, filter), false);
    cur = std::move(next);
  }
  return cur;
}

// LlamaGen's (from ADM) center_crop_arr: halve with a box filter while the short side is at least twice
// `size`, resize bicubically so the short side is `size` (the long side rounded half to even, as Python's
// round), then cut the centre size x size square.
inline interleaved_image center_crop_like_llamagen(interleaved_image img, std::int64_t size) {
  check(size > 0, "center_crop_like_llamagen", "size must be positive, not ", size);
  while (std::min(img.width, img.height) >= 2 * size)
    img = resize_like_pil(img, img.width / 2, img.height / 2, pil_filter::box);
  const double scale = static_cast<double>(size) / static_cast<double>(std::min(img.width, img.height));
  const auto scaled = [scale](std::int64_t n) {
    return static_cast<std::int64_t>(std::nearbyint(static_cast<double>(n) * scale));  // FE_TONEAREST: ties to even
  };
  img = resize_like_pil(img, scaled(img.width), scaled(img.height), pil_filter::bicubic);
  check(img.width >= size && img.height >= size, "center_crop_like_llamagen", "resized to ", img.width, "x",
        img.height, ", smaller than ", size);
  const std::int64_t top = (img.height - size) / 2, left = (img.width - size) / 2;
  interleaved_image out{size, size, img.channels, std::vector<std::uint8_t>(static_cast<std::size_t>(size * size * img.channels))};
  for (std::int64_t y = 0; y < size; ++y)
    std::copy_n(img.data.begin() + ((top + y) * img.width + left) * img.channels, size * img.channels,
                out.data.begin() + y * size * img.channels);
  return out;
}

}  // namespace patchzoo::image
