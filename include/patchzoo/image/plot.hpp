#pragma once
// Line plots (loss curves and the like) as SVG text and as PNG, from one layout, without Python.
#include <cstdint>
#include <filesystem>
#include <sstream>
#include <string>

#include "patchzoo/image/plot_axes.hpp"
#include "patchzoo/image/png.hpp"
#include "patchzoo/image/rgb_image.hpp"
#include "patchzoo/io/atomic_file.hpp"

namespace patchzoo::image {

namespace plot_detail {

inline std::string svg_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

inline std::string svg_colour(colour c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", c.r, c.g, c.b);
  return buf;
}

// Legend box in the top-right corner of the axes: its left edge and size.
struct legend_box {
  double x = 0, y = 0, w = 0, h = 0;
};
inline legend_box place_legend(const line_plot& p, const plot_frame& f) {
  std::int64_t name_w = 0;
  for (const auto& s : p.series) name_w = std::max(name_w, text_width(s.name));
  const double w = 6 + 16 + 4 + static_cast<double>(name_w) + 6, h = 4 + 12.0 * static_cast<double>(p.series.size()) + 2;
  return {f.right - 6 - w, f.top + 6, w, h};
}

// Maximal runs of finite points, each drawn as one polyline.
template <class Visit>
void for_each_run(const plot_series& s, Visit&& visit) {
  std::size_t i = 0;
  while (i < s.x.size()) {
    while (i < s.x.size() && !finite_point(s, i)) ++i;
    const std::size_t begin = i;
    while (i < s.x.size() && finite_point(s, i)) ++i;
    if (i > begin) visit(begin, i);
  }
}

}  // namespace plot_detail

inline std::string to_svg(const line_plot& p, std::int64_t width = 640, std::int64_t height = 400) {
  using namespace plot_detail;
  const plot_frame f = layout_plot(p, width, height);
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height << "\" viewBox=\"0 0 "
    << width << ' ' << height << "\" font-family=\"monospace\" font-size=\"10\">\n";
  o << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o << "<g stroke=\"#dddddd\" stroke-width=\"1\">\n";
  for (double v : f.x.values) o << "<line x1=\"" << f.px(v) << "\" y1=\"" << f.top << "\" x2=\"" << f.px(v) << "\" y2=\"" << f.bottom << "\"/>\n";
  for (double v : f.y.values) o << "<line x1=\"" << f.left << "\" y1=\"" << f.py(v) << "\" x2=\"" << f.right << "\" y2=\"" << f.py(v) << "\"/>\n";
  o << "</g>\n<rect x=\"" << f.left << "\" y=\"" << f.top << "\" width=\"" << f.right - f.left << "\" height=\""
    << f.bottom - f.top << "\" fill=\"none\" stroke=\"black\"/>\n";
  for (double v : f.x.values)
    o << "<text x=\"" << f.px(v) << "\" y=\"" << f.bottom + 14 << "\" text-anchor=\"middle\">"
      << tick_label(v, f.x.step) << "</text>\n";
  for (double v : f.y.values)
    o << "<text x=\"" << f.left - 6 << "\" y=\"" << f.py(v) + 3.5 << "\" text-anchor=\"end\">" << tick_label(v, f.y.step)
      << "</text>\n";
  if (!p.title.empty())
    o << "<text x=\"" << width / 2 << "\" y=\"16\" text-anchor=\"middle\" font-weight=\"bold\">" << svg_escape(p.title) << "</text>\n";
  if (!p.y_label.empty()) o << "<text x=\"8\" y=\"16\">" << svg_escape(p.y_label) << "</text>\n";
  if (!p.x_label.empty())
    o << "<text x=\"" << (f.left + f.right) / 2 << "\" y=\"" << f.bottom + 28 << "\" text-anchor=\"middle\">"
      << svg_escape(p.x_label) << "</text>\n";
  for (std::size_t k = 0; k < p.series.size(); ++k) {
    const plot_series& s = p.series[k];
    for_each_run(s, [&](std::size_t begin, std::size_t end) {
      o << "<polyline fill=\"none\" stroke=\"" << svg_colour(series_colour(k)) << "\" stroke-width=\"1.5\" points=\"";
      for (std::size_t i = begin; i < end; ++i) o << (i > begin ? " " : "") << f.px(s.x[i]) << ',' << f.py(s.y[i]);
      o << "\"/>\n";
    });
  }
  if (!p.series.empty()) {
    const legend_box b = place_legend(p, f);
    o << "<rect x=\"" << b.x << "\" y=\"" << b.y << "\" width=\"" << b.w << "\" height=\"" << b.h
      << "\" fill=\"white\" stroke=\"#888888\"/>\n";
    for (std::size_t k = 0; k < p.series.size(); ++k) {
      const double y = b.y + 4 + 12.0 * static_cast<double>(k) + 4;
      o << "<line x1=\"" << b.x + 6 << "\" y1=\"" << y << "\" x2=\"" << b.x + 22 << "\" y2=\"" << y << "\" stroke=\""
        << svg_colour(series_colour(k)) << "\" stroke-width=\"2\"/>\n";
      o << "<text x=\"" << b.x + 26 << "\" y=\"" << y + 3.5 << "\">" << svg_escape(p.series[k].name) << "</text>\n";
    }
  }
  o << "</svg>\n";
  return o.str();
}

inline void write_svg(const std::filesystem::path& path, const line_plot& p, std::int64_t width = 640,
                      std::int64_t height = 400) {
  const std::string svg = to_svg(p, width, height);
  write_file_atomically(path, [&](file_sink& sink) { sink.write(svg.data(), svg.size()); });
}

// The same plot rasterised on an rgb_image: Wu-antialiased series lines, 5x7 text.
inline rgb_image render_plot(const line_plot& p, std::int64_t width = 640, std::int64_t height = 400) {
  using namespace plot_detail;
  const plot_frame f = layout_plot(p, width, height);
  rgb_image img(width, height, white);
  const auto ix = [](double v) { return static_cast<std::int64_t>(std::lround(v)); };
  const colour grid_grey{221, 221, 221};
  for (double v : f.x.values) img.fill_rect(ix(f.px(v)), ix(f.top), 1, ix(f.bottom - f.top), grid_grey);
  for (double v : f.y.values) img.fill_rect(ix(f.left), ix(f.py(v)), ix(f.right - f.left), 1, grid_grey);
  img.stroke_rect(ix(f.left), ix(f.top), ix(f.right - f.left) + 1, ix(f.bottom - f.top) + 1, black);
  for (double v : f.x.values) {
    const std::string s = tick_label(v, f.x.step);
    img.fill_rect(ix(f.px(v)), ix(f.bottom), 1, 4, black);
    draw_text(img, ix(f.px(v)) - text_width(s) / 2, ix(f.bottom) + 6, s, black);
  }
  for (double v : f.y.values) {
    const std::string s = tick_label(v, f.y.step);
    img.fill_rect(ix(f.left) - 3, ix(f.py(v)), 4, 1, black);
    draw_text(img, ix(f.left) - 6 - text_width(s), ix(f.py(v)) - 3, s, black);
  }
  if (!p.title.empty()) draw_text(img, (width - text_width(p.title)) / 2, 8, p.title, black);
  if (!p.y_label.empty()) draw_text(img, 8, 8, p.y_label, black);
  if (!p.x_label.empty())
    draw_text(img, ix((f.left + f.right) / 2) - text_width(p.x_label) / 2, ix(f.bottom) + 18, p.x_label, black);
  for (std::size_t k = 0; k < p.series.size(); ++k) {
    const plot_series& s = p.series[k];
    for_each_run(s, [&](std::size_t begin, std::size_t end) {
      if (end - begin == 1) img.fill_rect(ix(f.px(s.x[begin])) - 1, ix(f.py(s.y[begin])) - 1, 3, 3, series_colour(k));
      for (std::size_t i = begin + 1; i < end; ++i)
        draw_thick_line(img, f.px(s.x[i - 1]), f.py(s.y[i - 1]), f.px(s.x[i]), f.py(s.y[i]), series_colour(k), 2);
    });
  }
  if (!p.series.empty()) {
    const legend_box b = place_legend(p, f);
    img.fill_rect(ix(b.x), ix(b.y), ix(b.w), ix(b.h), white);
    img.stroke_rect(ix(b.x), ix(b.y), ix(b.w), ix(b.h), {136, 136, 136});
    for (std::size_t k = 0; k < p.series.size(); ++k) {
      const std::int64_t y = ix(b.y + 4 + 12.0 * static_cast<double>(k) + 4);
      img.fill_rect(ix(b.x) + 6, y - 1, 16, 2, series_colour(k));
      draw_text(img, ix(b.x) + 26, y - 3, p.series[k].name, black);
    }
  }
  return img;
}

inline void write_plot_png(const std::filesystem::path& path, const line_plot& p, std::int64_t width = 640,
                           std::int64_t height = 400) {
  write_png(path, render_plot(p, width, height));
}

}  // namespace patchzoo::image
