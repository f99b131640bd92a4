#pragma once
// Single-image geometry on row-major grey buffers: centred padding and bicubic resampling. The data
// transforms apply these per image; they work on float buffers and on bytes (rounded and clamped).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "patchzoo/core/error.hpp"

namespace patchzoo::image {

// Copies a rows x cols image into the centre of an out_rows x out_cols canvas filled with `fill`
// (odd margins put the extra pixel after the image, at the bottom/right).
template <class T>
void pad_image(const T* src, std::int64_t rows, std::int64_t cols, T* dst, std::int64_t out_rows,
               std::int64_t out_cols, T fill) {
  check(rows > 0 && cols > 0 && out_rows >= rows && out_cols >= cols, "pad_image", "cannot pad a ", rows, "x",
        cols, " image to ", out_rows, "x", out_cols);
  std::fill(dst, dst + out_rows * out_cols, fill);
  const std::int64_t top = (out_rows - rows) / 2, left = (out_cols - cols) / 2;
  for (std::int64_t r = 0; r < rows; ++r) std::copy(src + r * cols, src + (r + 1) * cols, dst + (top + r) * out_cols + left);
}

// Keys' cubic convolution kernel with a = -0.5 (Catmull-Rom): interpolates, and reproduces linear ramps.
inline double keys_cubic(double x) {
  constexpr double a = -0.5;
  x = std::abs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a;
  return 0.0;
}

namespace resize_detail {

// For each output coordinate: the four source taps (clamped to the edge) and their weights. Pixel
// centres are aligned (src = (dst + 0.5) * in / out - 0.5), so an n -> n resize is the identity.
struct taps {
  std::vector<std::int64_t> index;  // out * 4
  std::vector<double> weight;       // out * 4
};

inline taps cubic_taps(std::int64_t in, std::int64_t out) {
  taps t{std::vector<std::int64_t>(static_cast<std::size_t>(out * 4)), std::vector<double>(static_cast<std::size_t>(out * 4))};
  const double scale = static_cast<double>(in) / static_cast<double>(out);
  for (std::int64_t o = 0; o < out; ++o) {
    const double s = (static_cast<double>(o) + 0.5) * scale - 0.5;
    const double base = std::floor(s);
    for (int k = 0; k < 4; ++k) {
      const double pos = base - 1.0 + k;
      t.index[o * 4 + k] = std::clamp<std::int64_t>(static_cast<std::int64_t>(pos), 0, in - 1);
      t.weight[o * 4 + k] = keys_cubic(s - pos);
    }
  }
  return t;
}

// Separable resample into doubles: rows first (horizontal pass), then columns.
template <class T>
std::vector<double> resample(const T* src, std::int64_t rows, std::int64_t cols, std::int64_t out_rows,
                             std::int64_t out_cols) {
  check(rows > 0 && cols > 0 && out_rows > 0 && out_cols > 0, "resize_bicubic", "cannot resize a ", rows, "x", cols,
        " image to ", out_rows, "x", out_cols);
  const taps h = cubic_taps(cols, out_cols), v = cubic_taps(rows, out_rows);
  std::vector<double> wide(static_cast<std::size_t>(rows * out_cols));
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < out_cols; ++c) {
      double acc = 0.0;
      for (int k = 0; k < 4; ++k) acc += h.weight[c * 4 + k] * static_cast<double>(src[r * cols + h.index[c * 4 + k]]);
      wide[r * out_cols + c] = acc;
    }
  std::vector<double> out(static_cast<std::size_t>(out_rows * out_cols));
  for (std::int64_t r = 0; r < out_rows; ++r)
    for (std::int64_t c = 0; c < out_cols; ++c) {
      double acc = 0.0;
      for (int k = 0; k < 4; ++k) acc += v.weight[r * 4 + k] * wide[v.index[r * 4 + k] * out_cols + c];
      out[r * out_cols + c] = acc;
    }
  return out;
}

}  // namespace resize_detail

// Bicubic resize of a float image (values may overshoot the input range near edges, as cubic kernels do).
inline void resize_bicubic(const float* src, std::int64_t rows, std::int64_t cols, float* dst, std::int64_t out_rows,
                           std::int64_t out_cols) {
  const std::vector<double> out = resize_detail::resample(src, rows, cols, out_rows, out_cols);
  std::transform(out.begin(), out.end(), dst, [](double x) { return static_cast<float>(x); });
}

// Bicubic resize of a byte image, rounded to nearest and clamped to 0..255.
inline void resize_bicubic(const std::uint8_t* src, std::int64_t rows, std::int64_t cols, std::uint8_t* dst,
                           std::int64_t out_rows, std::int64_t out_cols) {
  const std::vector<double> out = resize_detail::resample(src, rows, cols, out_rows, out_cols);
  std::transform(out.begin(), out.end(), dst,
                 [](double x) { return static_cast<std::uint8_t>(std::clamp(std::lround(x), 0L, 255L)); });
}

}  // namespace patchzoo::image
