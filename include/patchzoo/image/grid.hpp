#pragma once
// A labelled grid of images (samples, reconstructions, per-class rows), grey or colour: image k goes to row
// k / cols, column k % cols; optional labels sit left of each row and above each column.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "patchzoo/core/tensor_view.hpp"
#include "patchzoo/image/rgb_image.hpp"

namespace patchzoo::image {

struct grid_options {
  std::int64_t rows = 1, cols = 1;
  std::int64_t scale = 2;       // each image pixel becomes scale x scale canvas pixels
  double lo = 0.0, hi = 1.0;    // value range mapped to black..white
  std::vector<std::string> row_labels, col_labels;  // empty, or one per row / column
  std::int64_t gap = 2;         // canvas pixels between cells
};

// Where everything lands on the canvas; image_grid draws exactly this.
struct grid_layout {
  std::int64_t left = 0, top = 0;          // origin of cell (0, 0)
  std::int64_t cell_w = 0, cell_h = 0;     // image size on the canvas
  std::int64_t step_x = 0, step_y = 0;     // cell pitch (size + gap)
  std::int64_t width = 0, height = 0;      // canvas size
  std::int64_t cell_x(std::int64_t c) const { return left + c * step_x; }
  std::int64_t cell_y(std::int64_t r) const { return top + r * step_y; }
};

inline constexpr std::int64_t grid_margin = 4;
// The largest canvas image_grid draws: 2^27 pixels (400 MB as RGB), as many as read_image reads back, and
// no side over max_image_side.
inline constexpr std::int64_t max_grid_pixels = std::int64_t{1} << 27;

inline grid_layout layout_grid(std::int64_t height, std::int64_t width, const grid_options& o) {
  check(o.rows > 0 && o.cols > 0 && o.scale > 0 && o.gap >= 0, "image_grid", "rows ", o.rows, ", cols ", o.cols,
        ", scale ", o.scale, " and gap ", o.gap, " must be positive");
  check(height > 0 && width > 0, "image_grid", "image size ", height, "x", width, " must be positive");
  check(o.row_labels.empty() || static_cast<std::int64_t>(o.row_labels.size()) == o.rows, "image_grid",
        o.row_labels.size(), " row labels for ", o.rows, " rows");
  check(o.col_labels.empty() || static_cast<std::int64_t>(o.col_labels.size()) == o.cols, "image_grid",
        o.col_labels.size(), " column labels for ", o.cols, " columns");
  grid_layout g;
  std::int64_t label_w = 0;
  for (const auto& s : o.row_labels) label_w = std::max(label_w, text_width(s));
  g.left = grid_margin + (label_w > 0 ? label_w + grid_margin : 0);
  g.top = grid_margin + (o.col_labels.empty() ? 0 : text_height() + grid_margin);
  g.cell_w = width * o.scale;
  g.cell_h = height * o.scale;
  g.step_x = g.cell_w + o.gap;
  g.step_y = g.cell_h + o.gap;
  check(o.cols <= max_image_side / g.step_x && o.rows <= max_image_side / g.step_y, "image_grid", "a grid of ", o.rows,
        " x ", o.cols, " images of ", height, "x", width, " at scale ", o.scale, " is over the ", max_image_side,
        " pixels a side a canvas may have: use fewer rows or columns");
  g.width = g.left + o.cols * g.step_x - o.gap + grid_margin;
  g.height = g.top + o.rows * g.step_y - o.gap + grid_margin;
  check(g.width <= max_image_side && g.height <= max_image_side && g.width * g.height <= max_grid_pixels, "image_grid",
        "a grid of ", o.rows, " x ", o.cols, " images of ", height, "x", width, " at scale ", o.scale, " is ", g.width,
        "x", g.height, " pixels, over the ", max_image_side, " a side and ", max_grid_pixels,
        " in all a grid may have: use fewer rows or columns");
  return g;
}

// `images` are height x width row-major buffers (channels 3: three such planes, red first); null entries and
// missing trailing cells stay blank.
inline rgb_image image_grid(const std::vector<const float*>& images, std::int64_t height, std::int64_t width,
                            const grid_options& o, std::int64_t channels = 1) {
  check(channels == 1 || channels == 3, "image_grid", channels, " channels per image; 1 (grey) or 3 (RGB) are drawn");
  const grid_layout g = layout_grid(height, width, o);
  check(static_cast<std::int64_t>(images.size()) <= o.rows * o.cols, "image_grid", images.size(),
        " images do not fit a ", o.rows, "x", o.cols, " grid");
  rgb_image canvas(g.width, g.height, white);
  for (std::size_t k = 0; k < images.size(); ++k) {
    if (!images[k]) continue;
    const auto r = static_cast<std::int64_t>(k) / o.cols, c = static_cast<std::int64_t>(k) % o.cols;
    if (channels == 1) blit_grey(canvas, images[k], height, width, g.cell_x(c), g.cell_y(r), o.scale, o.lo, o.hi);
    else blit_planar_rgb(canvas, images[k], height, width, g.cell_x(c), g.cell_y(r), o.scale, o.lo, o.hi);
  }
  for (std::int64_t r = 0; r < static_cast<std::int64_t>(o.row_labels.size()); ++r)
    draw_text(canvas, grid_margin, g.cell_y(r) + (g.cell_h - text_height()) / 2, o.row_labels[r], black);
  for (std::int64_t c = 0; c < static_cast<std::int64_t>(o.col_labels.size()); ++c)
    draw_text(canvas, g.cell_x(c) + (g.cell_w - text_width(o.col_labels[c])) / 2, grid_margin, o.col_labels[c],
              black);
  return canvas;
}

// The same from a batch tensor [N, 1, H, W], [N, 3, H, W] (RGB planes) or [N, H, W] on the host.
inline rgb_image image_grid(const_view<float> images, const grid_options& o) {
  check(images.is_contiguous() && (images.rank() == 4 ? images.dim(1) == 1 || images.dim(1) == 3 : images.rank() == 3),
        "image_grid", "images have shape ", images.shape.str(),
        ", expected a contiguous [N, 1, H, W], [N, 3, H, W] or [N, H, W]");
  const std::int64_t channels = images.rank() == 4 ? images.dim(1) : 1;
  const std::int64_t h = images.dim(images.rank() - 2), w = images.dim(images.rank() - 1);
  std::vector<const float*> ptrs;
  for (std::int64_t i = 0; i < images.dim(0); ++i) ptrs.push_back(images.data + i * channels * h * w);
  return image_grid(ptrs, h, w, o, channels);
}

}  // namespace patchzoo::image
