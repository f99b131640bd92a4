#pragma once
// Viridis (van der Walt and Smith, matplotlib's default): perceptually uniform, lightness rising
// monotonically from dark purple to yellow, readable in grey print and by most colour-blind viewers.
// Eleven anchors at t = 0, 0.1, ..., 1 from matplotlib, linearly interpolated.
#include <algorithm>
#include <array>
#include <cmath>

#include "patchzoo/image/rgb_image.hpp"

namespace patchzoo::image {

inline constexpr std::array<colour, 11> viridis_anchors = {{{68, 1, 84},
                                                            {72, 36, 117},
                                                            {65, 68, 135},
                                                            {53, 95, 141},
                                                            {42, 120, 142},
                                                            {33, 145, 140},
                                                            {34, 168, 132},
                                                            {68, 191, 112},
                                                            {122, 209, 81},
                                                            {189, 223, 38},
                                                            {253, 231, 37}}};

// t in [0, 1] (clamped; NaN maps to 0) to its viridis colour.
inline colour viridis(double t) {
  t = std::isnan(t) ? 0.0 : std::clamp(t, 0.0, 1.0);
  const double pos = t * (viridis_anchors.size() - 1);
  const auto i = std::min<std::size_t>(static_cast<std::size_t>(pos), viridis_anchors.size() - 2);
  const double f = pos - static_cast<double>(i);
  const colour a = viridis_anchors[i], b = viridis_anchors[i + 1];
  const auto mix = [f](std::uint8_t x, std::uint8_t y) {
    return static_cast<std::uint8_t>(std::lround(x + (y - x) * f));
  };
  return {mix(a.r, b.r), mix(a.g, b.g), mix(a.b, b.b)};
}

// Relative luminance (Rec. 709 weights on linearised sRGB), for checking that a map is monotone.
inline double relative_luminance(colour c) {
  const auto lin = [](std::uint8_t v) {
    const double s = v / 255.0;
    return s <= 0.04045 ? s / 12.92 : std::pow((s + 0.055) / 1.055, 2.4);
  };
  return 0.2126 * lin(c.r) + 0.7152 * lin(c.g) + 0.0722 * lin(c.b);
}

}  // namespace patchzoo::image
