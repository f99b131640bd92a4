#include <doctest/doctest.h>

#include "patchzoo/image/rgb_image.hpp"

using namespace patchzoo;
using namespace patchzoo::image;

namespace {

std::int64_t count_pixels(const rgb_image& img, colour c) {
  std::int64_t n = 0;
  for (std::int64_t y = 0; y < img.height; ++y)
    for (std::int64_t x = 0; x < img.width; ++x) n += img.at(x, y) == c;
  return n;
}

}  // namespace

TEST_CASE("rgb_image: fill, clipping, blending") {
  rgb_image img(10, 6, white);
  CHECK(img.rgb.size() == 180);
  img.fill_rect(-3, -3, 5, 5, black);  // hangs over the corner: only the 2x2 inside is drawn
  CHECK(count_pixels(img, black) == 4);
  img.set(100, 100, black);
  CHECK(count_pixels(img, black) == 4);
  img.blend(5, 5, black, 0.25);
  CHECK(img.at(5, 5) == colour{191, 191, 191});
  img.stroke_rect(3, 1, 4, 3, {1, 2, 3});
  CHECK(count_pixels(img, {1, 2, 3}) == 10);
  CHECK_THROWS_WITH_AS(rgb_image(0, 4), doctest::Contains("size 0x4"), patchzoo::error);
}

TEST_CASE("blit_grey scales by an integer factor and maps the value range") {
  rgb_image img(6, 4, {9, 9, 9});
  const std::vector<float> px{-1.0f, 0.0f, 1.0f, 3.0f};
  blit_grey(img, px.data(), 1, 4, 0, 1, 1, -1.0, 1.0);
  CHECK(img.at(0, 1) == colour{0, 0, 0});
  CHECK(img.at(1, 1) == colour{128, 128, 128});
  CHECK(img.at(2, 1) == colour{255, 255, 255});
  CHECK(img.at(3, 1) == colour{255, 255, 255});  // clamped
  const std::vector<std::uint8_t> bytes{0, 255};
  blit_grey(img, bytes.data(), 1, 2, 2, 2, 2, 0.0, 255.0);
  CHECK(img.at(2, 2) == black);
  CHECK(img.at(3, 3) == black);
  CHECK(img.at(4, 2) == white);
  CHECK(img.at(5, 3) == white);
  CHECK(img.at(2, 1) == white);
  CHECK(img.at(1, 2) == colour{9, 9, 9});
}

TEST_CASE("5x7 text: glyph bitmaps land where the metrics say") {
  CHECK(text_width("") == 0);
  CHECK(text_width("abc") == 17);
  CHECK(text_width("abc", 2) == 34);
  CHECK(text_height(3) == 21);
  rgb_image img(20, 10, white);
  draw_text(img, 1, 2, "I", black);
  // 'I' is 0x00 0x41 0x7F 0x41 0x00: a full middle column with serifs at the top and bottom rows.
  for (int y = 0; y < 7; ++y) CHECK(img.at(1 + 2, 2 + y) == black);
  CHECK(img.at(1 + 1, 2) == black);
  CHECK(img.at(1 + 1, 2 + 6) == black);
  CHECK(img.at(1 + 1, 2 + 3) == white);
  CHECK(img.at(1 + 0, 2) == white);
  CHECK(count_pixels(img, black) == 7 + 4);
  rgb_image blank(8, 8, white);
  draw_text(blank, 0, 0, " ", black);
  CHECK(count_pixels(blank, black) == 0);
  CHECK(glyph_pixel('\x01', 0, 1) == glyph_pixel('?', 0, 1));
}

TEST_CASE("Wu lines: horizontal lines are solid, diagonals shade both neighbours, endpoints are reached") {
  rgb_image img(12, 12, white);
  draw_line(img, 1, 3, 10, 3, black);
  for (int x = 1; x <= 10; ++x) CHECK(img.at(x, 3) == black);
  CHECK(img.at(0, 3) == white);
  CHECK(img.at(11, 3) == white);
  rgb_image d(12, 12, white);
  draw_line(d, 0, 0, 11, 11, black);
  for (int i = 0; i < 12; ++i) CHECK(d.at(i, i) == black);
  rgb_image half(12, 12, white);
  draw_line(half, 0, 5.5, 11, 5.5, black);
  CHECK(half.at(4, 5) == colour{128, 128, 128});
  CHECK(half.at(4, 6) == colour{128, 128, 128});
  rgb_image steep(12, 12, white);
  draw_line(steep, 2, 10, 2, 1, black);
  for (int y = 1; y <= 10; ++y) CHECK(steep.at(2, y) == black);
}
