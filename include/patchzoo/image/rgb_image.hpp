#pragma once
// A plain 8-bit RGB canvas with the few primitives the figures need: rectangles, blended pixels,
// antialiased lines, integer-scaled grey images and 5x7 bitmap text.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "patchzoo/core/error.hpp"
#include "patchzoo/image/font5x7.hpp"

namespace patchzoo::image {

struct colour {
  std::uint8_t r = 0, g = 0, b = 0;
  friend bool operator==(const colour&, const colour&) = default;
};

inline constexpr colour white{255, 255, 255}, black{0, 0, 0};

// The widest and tallest canvas: 2^15 pixels a side.
inline constexpr std::int64_t max_image_side = std::int64_t{1} << 15;

struct rgb_image {
  std::int64_t width = 0, height = 0;
  std::vector<std::uint8_t> rgb;  // height x width x 3, row-major

  rgb_image() = default;
  rgb_image(std::int64_t w, std::int64_t h, colour background = white) : width(w), height(h) {
    check(w > 0 && h > 0 && w <= max_image_side && h <= max_image_side, "rgb_image", "size ", w, "x", h, " is not in 1..",
          max_image_side);
    rgb.resize(static_cast<std::size_t>(w * h * 3));
    fill_rect(0, 0, w, h, background);
  }

  bool contains(std::int64_t x, std::int64_t y) const { return x >= 0 && y >= 0 && x < width && y < height; }
  colour at(std::int64_t x, std::int64_t y) const {
    const std::uint8_t* p = rgb.data() + (y * width + x) * 3;
    return {p[0], p[1], p[2]};
  }
  // Pixels outside the canvas are clipped silently, so shapes may hang over the border.
  void set(std::int64_t x, std::int64_t y, colour c) {
    if (!contains(x, y)) return;
    std::uint8_t* p = rgb.data() + (y * width + x) * 3;
    p[0] = c.r;
    p[1] = c.g;
    p[2] = c.b;
  }
  // Mixes `c` over the pixel with opacity alpha in [0, 1].
  void blend(std::int64_t x, std::int64_t y, colour c, double alpha) {
    if (!contains(x, y)) return;
    const colour old = at(x, y);
    const auto mix = [&](std::uint8_t a, std::uint8_t b) {
      return static_cast<std::uint8_t>(std::lround(a * (1.0 - alpha) + b * alpha));
    };
    set(x, y, {mix(old.r, c.r), mix(old.g, c.g), mix(old.b, c.b)});
  }
  void fill_rect(std::int64_t x, std::int64_t y, std::int64_t w, std::int64_t h, colour c) {
    for (std::int64_t yy = std::max<std::int64_t>(y, 0); yy < std::min(y + h, height); ++yy)
      for (std::int64_t xx = std::max<std::int64_t>(x, 0); xx < std::min(x + w, width); ++xx) set(xx, yy, c);
  }
  void stroke_rect(std::int64_t x, std::int64_t y, std::int64_t w, std::int64_t h, colour c) {
    fill_rect(x, y, w, 1, c);
    fill_rect(x, y + h - 1, w, 1, c);
    fill_rect(x, y, 1, h, c);
    fill_rect(x + w - 1, y, 1, h, c);
  }
};

// Grey value v mapped from [lo, hi] to 0..255, clamped.
inline std::uint8_t grey_level(double v, double lo, double hi) {
  const double t = hi > lo ? (v - lo) / (hi - lo) : 0.0;
  return static_cast<std::uint8_t>(std::lround(255.0 * std::clamp(t, 0.0, 1.0)));
}

// Draws an h x w grey image with its top-left at (x, y), each pixel as a scale x scale block.
template <class T>
void blit_grey(rgb_image& img, const T* pixels, std::int64_t h, std::int64_t w, std::int64_t x, std::int64_t y,
               std::int64_t scale, double lo, double hi) {
  check(scale >= 1, "blit_grey", "scale ", scale, " must be at least 1");
  for (std::int64_t r = 0; r < h; ++r)
    for (std::int64_t c = 0; c < w; ++c) {
      const std::uint8_t g = grey_level(static_cast<double>(pixels[r * w + c]), lo, hi);
      img.fill_rect(x + c * scale, y + r * scale, scale, scale, {g, g, g});
    }
}

// The same for a colour image stored as three planes (channel-major [3, h, w], as models produce them).
template <class T>
void blit_planar_rgb(rgb_image& img, const T* planes, std::int64_t h, std::int64_t w, std::int64_t x, std::int64_t y,
                     std::int64_t scale, double lo, double hi) {
  check(scale >= 1, "blit_planar_rgb", "scale ", scale, " must be at least 1");
  const std::int64_t plane = h * w;
  for (std::int64_t r = 0; r < h; ++r)
    for (std::int64_t c = 0; c < w; ++c) {
      const std::int64_t at = r * w + c;
      img.fill_rect(x + c * scale, y + r * scale, scale, scale,
                    {grey_level(static_cast<double>(planes[at]), lo, hi),
                     grey_level(static_cast<double>(planes[plane + at]), lo, hi),
                     grey_level(static_cast<double>(planes[2 * plane + at]), lo, hi)});
    }
}

// Width and height in pixels of `text` drawn at `scale` (no trailing spacing).
inline std::int64_t text_width(const std::string& text, int scale = 1) {
  return text.empty() ? 0 : static_cast<std::int64_t>(text.size() * glyph_advance - 1) * scale;
}
inline std::int64_t text_height(int scale = 1) { return glyph_height * scale; }

// Draws `text` with its top-left corner at (x, y).
inline void draw_text(rgb_image& img, std::int64_t x, std::int64_t y, const std::string& text, colour c,
                      int scale = 1) {
  for (std::size_t i = 0; i < text.size(); ++i)
    for (int gx = 0; gx < glyph_width; ++gx)
      for (int gy = 0; gy < glyph_height; ++gy)
        if (glyph_pixel(text[i], gx, gy))
          img.fill_rect(x + (static_cast<std::int64_t>(i) * glyph_advance + gx) * scale, y + gy * scale, scale, scale,
                        c);
}

// Xiaolin Wu's antialiased line: each step along the major axis shades the two pixels straddling the line.
inline void draw_line(rgb_image& img, double x0, double y0, double x1, double y1, colour c) {
  const bool steep = std::abs(y1 - y0) > std::abs(x1 - x0);
  if (steep) {
    std::swap(x0, y0);
    std::swap(x1, y1);
  }
  if (x0 > x1) {
    std::swap(x0, x1);
    std::swap(y0, y1);
  }
  const double dx = x1 - x0, gradient = dx == 0.0 ? 1.0 : (y1 - y0) / dx;
  const auto plot = [&](std::int64_t major, std::int64_t minor, double alpha) {
    if (steep)
      img.blend(minor, major, c, alpha);
    else
      img.blend(major, minor, c, alpha);
  };
  const auto first = static_cast<std::int64_t>(std::lround(x0)), last = static_cast<std::int64_t>(std::lround(x1));
  for (std::int64_t x = first; x <= last; ++x) {
    const double y = y0 + gradient * (static_cast<double>(x) - x0);
    const double base = std::floor(y), frac = y - base;
    plot(x, static_cast<std::int64_t>(base), 1.0 - frac);
    plot(x, static_cast<std::int64_t>(base) + 1, frac);
  }
}

// A line `width` pixels wide, drawn as parallel Wu lines offset across its direction.
inline void draw_thick_line(rgb_image& img, double x0, double y0, double x1, double y1, colour c, int width) {
  const double len = std::hypot(x1 - x0, y1 - y0);
  const double nx = len > 0 ? -(y1 - y0) / len : 0.0, ny = len > 0 ? (x1 - x0) / len : 1.0;
  for (int k = 0; k < width; ++k) {
    const double off = (k - (width - 1) / 2.0) * 0.75;  // overlap the strokes so no gaps show
    draw_line(img, x0 + nx * off, y0 + ny * off, x1 + nx * off, y1 + ny * off, c);
  }
}

}  // namespace patchzoo::image
