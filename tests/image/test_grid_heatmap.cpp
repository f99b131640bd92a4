#include <doctest/doctest.h>

#include "patchzoo/core/tensor.hpp"
#include "patchzoo/image/grid.hpp"
#include "patchzoo/image/heatmap.hpp"

using namespace patchzoo;
using namespace patchzoo::image;

TEST_CASE("image_grid: canvas size, cell placement and value range without labels") {
  tensor<float> batch(shape_t{5, 1, 3, 4});
  for (std::int64_t i = 0; i < batch.numel(); ++i) batch[i] = static_cast<float>(i / 12) / 4.0f;
  grid_options o;
  o.rows = 2;
  o.cols = 3;
  o.scale = 2;
  const rgb_image g = image_grid(batch.cview(), o);
  CHECK(g.width == grid_margin + 3 * (8 + 2) - 2 + grid_margin);
  CHECK(g.height == grid_margin + 2 * (6 + 2) - 2 + grid_margin);
  const grid_layout l = layout_grid(3, 4, o);
  CHECK(l.left == grid_margin);
  CHECK(l.top == grid_margin);
  // Image k fills cell (k / 3, k % 3) with grey k / 4; the sixth cell stays white.
  for (int k = 0; k < 5; ++k) {
    const std::uint8_t v = grey_level(k / 4.0, 0.0, 1.0);
    CHECK(g.at(l.cell_x(k % 3), l.cell_y(k / 3)) == colour{v, v, v});
    CHECK(g.at(l.cell_x(k % 3) + 7, l.cell_y(k / 3) + 5) == colour{v, v, v});
  }
  CHECK(g.at(l.cell_x(2) + 3, l.cell_y(1) + 3) == white);
  CHECK(g.at(l.cell_x(1) - 1, l.cell_y(0)) == white);  // the gap between cells

  o.rows = 1;
  CHECK_THROWS_WITH_AS(image_grid(batch.cview(), o), doctest::Contains("5 images do not fit a 1x3 grid"),
                       patchzoo::error);
  o.rows = 1 << 20;  // 2^20 x 3 cells of 8 x 6 pixels: taller than a canvas may be, refused before any exists
  CHECK_THROWS_WITH_AS(layout_grid(3, 4, o), doctest::Contains("pixels a side a canvas may have"), patchzoo::error);
  o.cols = std::int64_t{1} << 62;  // products that would overflow are refused too
  CHECK_THROWS_WITH_AS(layout_grid(3, 4, o), doctest::Contains("pixels a side a canvas may have"), patchzoo::error);
  o.rows = 3000;  // 30k x 24k pixels: each side fits, the whole does not
  o.cols = 3000;
  CHECK_THROWS_WITH_AS(layout_grid(3, 4, o), doctest::Contains("in all a grid may have"), patchzoo::error);
  o.rows = 1;
  o.cols = 3;
  tensor<float> two_channels(shape_t{2, 2, 4, 4});
  CHECK_THROWS_WITH_AS(image_grid(two_channels.cview(), o),
                       doctest::Contains("expected a contiguous [N, 1, H, W], [N, 3, H, W] or [N, H, W]"), patchzoo::error);
}

TEST_CASE("image_grid: colour images [N, 3, H, W] are drawn from their red, green and blue planes") {
  tensor<float> batch(shape_t{2, 3, 2, 2});  // in [-1, 1], as the VQ-16 decoder gives them
  for (std::int64_t n = 0; n < 2; ++n)
    for (std::int64_t c = 0; c < 3; ++c)
      for (std::int64_t p = 0; p < 4; ++p) batch[(n * 3 + c) * 4 + p] = static_cast<float>(c - 1) * (n == 0 ? 1 : -1);
  grid_options o;
  o.cols = 2;
  o.scale = 1;
  o.lo = -1.0;
  o.hi = 1.0;
  const rgb_image g = image_grid(batch.cview(), o);
  const grid_layout l = layout_grid(2, 2, o);
  CHECK(g.at(l.cell_x(0), l.cell_y(0)) == colour{0, 128, 255});      // red -1, green 0, blue 1
  CHECK(g.at(l.cell_x(1) + 1, l.cell_y(0) + 1) == colour{255, 128, 0});
}

TEST_CASE("image_grid: row labels sit left of their row, column labels above their column") {
  std::vector<float> img(4 * 4, 1.0f);
  grid_options o;
  o.rows = 2;
  o.cols = 2;
  o.scale = 4;
  o.row_labels = {"", "XX"};
  o.col_labels = {"X", ""};
  const rgb_image g = image_grid({img.data(), img.data(), img.data()}, 4, 4, o);
  const grid_layout l = layout_grid(4, 4, o);
  CHECK(l.left == grid_margin + text_width("XX") + grid_margin);
  CHECK(l.top == grid_margin + text_height() + grid_margin);
  CHECK(g.width == l.left + 2 * 18 - 2 + grid_margin);
  // 'X' has its top-left pixel set: find it at the computed label origins, and nothing in row 0's margin.
  const std::int64_t row1_y = l.cell_y(1) + (l.cell_h - text_height()) / 2;
  CHECK(g.at(grid_margin, row1_y) == black);
  CHECK(g.at(grid_margin + 6, row1_y) == black);
  for (std::int64_t y = l.cell_y(0); y < l.cell_y(0) + l.cell_h; ++y)
    for (std::int64_t x = 0; x < l.left; ++x) REQUIRE(g.at(x, y) == white);
  const std::int64_t col0_x = l.cell_x(0) + (l.cell_w - text_width("X")) / 2;
  CHECK(g.at(col0_x, grid_margin) == black);
  CHECK(g.at(l.cell_x(1) + l.cell_w / 2, grid_margin + 3) == white);

  o.row_labels = {"one"};
  CHECK_THROWS_WITH_AS(image_grid({img.data()}, 4, 4, o), doctest::Contains("1 row labels for 2 rows"),
                       patchzoo::error);
}

TEST_CASE("render_heatmap: cells take viridis colours of the scaled values; the bar spans the scale") {
  const std::vector<float> v{0.0f, 1.0f, 2.0f, 4.0f};
  heatmap_options o;
  o.cell = 10;
  const rgb_image h = render_heatmap(v.data(), 2, 2, o);
  const heatmap_layout l = layout_heatmap(2, 2, std::nullopt, o, "0", "4");
  CHECK(h.width == l.width);
  CHECK(h.height == heatmap_margin + 20 + heatmap_margin);
  CHECK(h.at(l.map_x, l.map_y) == viridis(0.0));
  CHECK(h.at(l.map_x + 19, l.map_y + 5) == viridis(0.25));
  CHECK(h.at(l.map_x + 5, l.map_y + 15) == viridis(0.5));
  CHECK(h.at(l.map_x + 19, l.map_y + 19) == viridis(1.0));
  CHECK(h.at(l.bar_x, l.map_y) == viridis(1.0));
  CHECK(h.at(l.bar_x + 5, l.map_y + 19) == viridis(0.0));

  o.vmin = 0.0;
  o.vmax = 8.0;
  o.colour_bar = false;
  const rgb_image fixed = render_heatmap(v.data(), 2, 2, o);
  CHECK(fixed.at(heatmap_margin + 19, heatmap_margin + 19) == viridis(0.5));
  CHECK(fixed.width == heatmap_margin + 20 + heatmap_margin);
}

TEST_CASE("render_heatmap over an image: grid cells align with image patches, colours are blended") {
  std::vector<float> img(32 * 32, 0.0f);
  for (int c = 16; c < 32; ++c)
    for (int r = 0; r < 32; ++r) img[r * 32 + c] = 1.0f;
  std::vector<float> entropy(8 * 8);
  for (int i = 0; i < 64; ++i) entropy[i] = static_cast<float>(i);
  heatmap_options o;
  o.pixel_scale = 4;
  o.alpha = 0.5;
  o.title = "entropy";
  const grey_underlay under{img.data(), 32, 32, 0.0, 1.0};
  const rgb_image h = render_heatmap(entropy.data(), 8, 8, o, under);
  const heatmap_layout l = layout_heatmap(8, 8, under, o, "0", "63");
  CHECK(l.map_w == 128);
  CHECK(l.cell_w == 16);
  CHECK(l.map_y == heatmap_margin + text_height() + heatmap_margin);
  CHECK(h.width == l.width);
  CHECK(h.height == l.map_y + 128 + heatmap_margin);
  const colour lo = viridis(0.0), hi = viridis(1.0);
  const auto half = [](std::uint8_t base, std::uint8_t c) {
    return static_cast<std::uint8_t>(std::lround(base * 0.5 + c * 0.5));
  };
  CHECK(h.at(l.map_x + 3, l.map_y + 3) == colour{half(0, lo.r), half(0, lo.g), half(0, lo.b)});
  CHECK(h.at(l.map_x + 127, l.map_y + 127) == colour{half(255, hi.r), half(255, hi.g), half(255, hi.b)});
  o.pixel_scale = 3;
  std::vector<float> grid7(49, 0.0f);
  CHECK_THROWS_WITH_AS(render_heatmap(grid7.data(), 7, 7, o, under),
                       doctest::Contains("a 7x7 grid does not tile the 32x32 underlay at scale 3"), patchzoo::error);
}
