#pragma once
// The data model of a line plot (named series of (x, y) points) and its geometry: axis ranges rounded
// out to 1-2-5 ticks, and the pixel frame both the SVG and the PNG renderers draw into.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "patchzoo/core/error.hpp"
#include "patchzoo/image/rgb_image.hpp"

namespace patchzoo::image {

struct plot_series {
  std::string name;
  std::vector<double> x, y;  // non-finite points are skipped
};

struct line_plot {
  std::string title, x_label, y_label;
  std::vector<plot_series> series;
};

// Matplotlib's tab10, so several series stay distinguishable.
inline constexpr colour series_palette[10] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40},
                                              {148, 103, 189}, {140, 86, 75}, {227, 119, 194}, {127, 127, 127},
                                              {188, 189, 34}, {23, 190, 207}};
inline colour series_colour(std::size_t i) { return series_palette[i % 10]; }

struct axis_ticks {
  double lo = 0, hi = 1, step = 1;
  std::vector<double> values;
};

// About `target` ticks at 1, 2 or 5 times a power of ten, with the range widened to whole steps.
inline axis_ticks nice_ticks(double lo, double hi, int target = 5) {
  if (!(hi > lo)) {  // a flat or empty range: give it some room
    const double pad = lo == 0 ? 1.0 : std::abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const double raw = (hi - lo) / target, mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / mag;
  const double step = (norm < 1.5 ? 1.0 : norm < 3.0 ? 2.0 : norm < 7.0 ? 5.0 : 10.0) * mag;
  axis_ticks t{std::floor(lo / step + 1e-9) * step, std::ceil(hi / step - 1e-9) * step, step, {}};
  for (double v = t.lo; v <= t.hi + step * 1e-6; v += step) t.values.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
  return t;
}

// A tick label with just enough decimals for the step.
inline std::string tick_label(double v, double step) {
  char buf[32];
  if (std::abs(v) >= 1e5 || (std::abs(v) > 0 && std::abs(v) < 1e-3))
    std::snprintf(buf, sizeof buf, "%.2g", v);
  else
    std::snprintf(buf, sizeof buf, "%.*f", std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9))), v);
  return buf;
}

// Pixel geometry of one plot: the axes box [left, right] x [top, bottom] and the data-to-pixel maps.
struct plot_frame {
  std::int64_t width = 0, height = 0;
  double left = 0, right = 0, top = 0, bottom = 0;
  axis_ticks x, y;
  double px(double v) const { return left + (v - x.lo) / (x.hi - x.lo) * (right - left); }
  double py(double v) const { return bottom - (v - y.lo) / (y.hi - y.lo) * (bottom - top); }
};

inline bool finite_point(const plot_series& s, std::size_t i) { return std::isfinite(s.x[i]) && std::isfinite(s.y[i]); }

// Lays out a width x height plot with 5x7-font metrics (the SVG uses the same pixel sizes).
inline plot_frame layout_plot(const line_plot& p, std::int64_t width, std::int64_t height) {
  check(width >= 120 && height >= 90, "line_plot", "size ", width, "x", height, " is below the 120x90 minimum");
  double xlo = std::numeric_limits<double>::infinity(), xhi = -xlo, ylo = xlo, yhi = -xlo;
  for (const auto& s : p.series) {
    check(s.x.size() == s.y.size(), "line_plot", "series '", s.name, "' has ", s.x.size(), " x values and ",
          s.y.size(), " y values");
    for (std::size_t i = 0; i < s.x.size(); ++i)
      if (finite_point(s, i)) {
        xlo = std::min(xlo, s.x[i]), xhi = std::max(xhi, s.x[i]);
        ylo = std::min(ylo, s.y[i]), yhi = std::max(yhi, s.y[i]);
      }
  }
  if (!std::isfinite(xlo)) xlo = 0, xhi = 1, ylo = 0, yhi = 1;
  plot_frame f;
  f.width = width;
  f.height = height;
  f.x = nice_ticks(xlo, xhi, std::max<int>(2, static_cast<int>(width / 80)));
  f.y = nice_ticks(ylo, yhi, std::max<int>(2, static_cast<int>(height / 50)));
  std::int64_t label_w = 0;
  for (double v : f.y.values) label_w = std::max(label_w, text_width(tick_label(v, f.y.step)));
  f.left = 8.0 + static_cast<double>(label_w) + 6.0;
  // The last x tick label is centred on the right edge of the axes: keep room for its right half.
  const std::int64_t last_x_label = text_width(tick_label(f.x.values.back(), f.x.step));
  f.right = static_cast<double>(width) - std::max(12.0, static_cast<double>(last_x_label) / 2.0 + 6.0);
  f.top = 8.0 + (p.title.empty() && p.y_label.empty() ? 0.0 : 14.0);
  f.bottom = static_cast<double>(height) - 8.0 - 12.0 - (p.x_label.empty() ? 0.0 : 12.0);
  return f;
}

}  // namespace patchzoo::image
