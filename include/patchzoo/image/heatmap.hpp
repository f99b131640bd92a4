#pragma once
// A value per token-grid cell (e.g. 16x16 prediction entropies) drawn in viridis, optionally blended over
// the grey image the tokens came from (upscaled so every grid cell covers its image patch exactly), with
// a colour bar labelled by the min and max of the scale.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

#include "patchzoo/image/colormap.hpp"
#include "patchzoo/image/rgb_image.hpp"

namespace patchzoo::image {

// The grey image under the map: rows x cols row-major values shown from lo (black) to hi (white).
struct grey_underlay {
  const float* pixels = nullptr;
  std::int64_t rows = 0, cols = 0;
  double lo = 0.0, hi = 1.0;
};

struct heatmap_options {
  std::int64_t cell = 16;         // canvas pixels per grid cell without an underlay
  std::int64_t pixel_scale = 8;   // canvas pixels per underlay pixel
  double alpha = 0.55;            // opacity of the colours over the underlay
  std::optional<double> vmin, vmax;  // colour scale; the data range when unset
  bool colour_bar = true;
  std::string title;
};

struct heatmap_layout {
  std::int64_t map_x = 0, map_y = 0, cell_w = 0, cell_h = 0, map_w = 0, map_h = 0;
  std::int64_t bar_x = 0, label_x = 0;
  std::int64_t width = 0, height = 0;
};

inline std::string format_value(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

inline constexpr std::int64_t heatmap_margin = 4, colour_bar_width = 12;

inline heatmap_layout layout_heatmap(std::int64_t grid_rows, std::int64_t grid_cols,
                                     const std::optional<grey_underlay>& under, const heatmap_options& o,
                                     const std::string& lo_label, const std::string& hi_label) {
  heatmap_layout l;
  if (under) {
    check(under->pixels && under->rows > 0 && under->cols > 0 && o.pixel_scale > 0, "render_heatmap",
          "underlay ", under->rows, "x", under->cols, " at scale ", o.pixel_scale, " is empty");
    l.map_w = under->cols * o.pixel_scale;
    l.map_h = under->rows * o.pixel_scale;
    check(l.map_w % grid_cols == 0 && l.map_h % grid_rows == 0, "render_heatmap", "a ", grid_rows, "x", grid_cols,
          " grid does not tile the ", under->rows, "x", under->cols, " underlay at scale ", o.pixel_scale, " (",
          l.map_h, "x", l.map_w, " canvas pixels)");
    l.cell_w = l.map_w / grid_cols;
    l.cell_h = l.map_h / grid_rows;
  } else {
    check(o.cell > 0, "render_heatmap", "cell size ", o.cell, " must be positive");
    l.cell_w = l.cell_h = o.cell;
    l.map_w = grid_cols * o.cell;
    l.map_h = grid_rows * o.cell;
  }
  l.map_x = heatmap_margin;
  l.map_y = heatmap_margin + (o.title.empty() ? 0 : text_height() + heatmap_margin);
  l.width = l.map_x + l.map_w + heatmap_margin;
  if (o.colour_bar) {
    l.bar_x = l.width + heatmap_margin;
    l.label_x = l.bar_x + colour_bar_width + heatmap_margin;
    l.width = l.label_x + std::max(text_width(lo_label), text_width(hi_label)) + heatmap_margin;
  }
  l.width = std::max(l.width, heatmap_margin * 2 + text_width(o.title));
  l.height = l.map_y + l.map_h + heatmap_margin;
  return l;
}

// `values` is grid_rows x grid_cols row-major.
inline rgb_image render_heatmap(const float* values, std::int64_t grid_rows, std::int64_t grid_cols,
                                const heatmap_options& o = {}, const std::optional<grey_underlay>& under = {}) {
  check(values != nullptr && grid_rows > 0 && grid_cols > 0, "render_heatmap", "grid ", grid_rows, "x", grid_cols,
        " must be non-empty");
  const auto [mn, mx] = std::minmax_element(values, values + grid_rows * grid_cols);
  const double lo = o.vmin.value_or(*mn), hi = o.vmax.value_or(*mx);
  const std::string lo_label = format_value(lo), hi_label = format_value(hi);
  const heatmap_layout l = layout_heatmap(grid_rows, grid_cols, under, o, lo_label, hi_label);
  const auto unit = [&](double v) { return hi > lo ? (v - lo) / (hi - lo) : 0.5; };

  rgb_image img(l.width, l.height, white);
  if (under) blit_grey(img, under->pixels, under->rows, under->cols, l.map_x, l.map_y, o.pixel_scale, under->lo, under->hi);
  for (std::int64_t r = 0; r < grid_rows; ++r)
    for (std::int64_t c = 0; c < grid_cols; ++c) {
      const colour col = viridis(unit(values[r * grid_cols + c]));
      for (std::int64_t y = 0; y < l.cell_h; ++y)
        for (std::int64_t x = 0; x < l.cell_w; ++x) {
          const std::int64_t px = l.map_x + c * l.cell_w + x, py = l.map_y + r * l.cell_h + y;
          if (under)
            img.blend(px, py, col, o.alpha);
          else
            img.set(px, py, col);
        }
    }
  if (!o.title.empty()) draw_text(img, heatmap_margin, heatmap_margin, o.title, black);
  if (o.colour_bar) {
    for (std::int64_t y = 0; y < l.map_h; ++y)
      img.fill_rect(l.bar_x, l.map_y + y, colour_bar_width, 1,
                    viridis(1.0 - static_cast<double>(y) / static_cast<double>(std::max<std::int64_t>(l.map_h - 1, 1))));
    img.stroke_rect(l.bar_x - 1, l.map_y - 1, colour_bar_width + 2, l.map_h + 2, black);
    draw_text(img, l.label_x, l.map_y, hi_label, black);
    draw_text(img, l.label_x, l.map_y + l.map_h - text_height(), lo_label, black);
  }
  return img;
}

}  // namespace patchzoo::image
