#include <doctest/doctest.h>

#include "support/temp_dir.hpp"
#include "patchzoo/image/png.hpp"
#include "patchzoo/image/image_reader.hpp"

using namespace patchzoo;
using namespace patchzoo::image;

TEST_CASE("PNG round trip: grey bytes and an RGB canvas come back exactly") {
  temp_dir dir;
  std::vector<std::uint8_t> grey(7 * 5);
  for (std::size_t i = 0; i < grey.size(); ++i) grey[i] = static_cast<std::uint8_t>(i * 7);
  write_png_grey(dir / "grey.png", grey.data(), 7, 5);
  const decoded_image g = read_image(dir / "grey.png");
  CHECK(g.width == 7);
  CHECK(g.height == 5);
  CHECK(g.channels == 1);
  CHECK(g.data == grey);

  rgb_image canvas(9, 4, {10, 20, 30});
  canvas.set(8, 3, {250, 0, 128});
  canvas.fill_rect(1, 1, 2, 2, {1, 2, 3});
  write_png(dir / "rgb.png", canvas);
  const decoded_image c = read_image(dir / "rgb.png");
  CHECK(c.width == 9);
  CHECK(c.height == 4);
  CHECK(c.channels == 3);
  CHECK(c.data == canvas.rgb);
  CHECK(c.data[(3 * 9 + 8) * 3] == 250);
  CHECK_FALSE(std::filesystem::exists(atomic_temp_path(dir / "rgb.png")));
}

TEST_CASE("PNG errors name the path and the size") {
  temp_dir dir;
  const std::vector<std::uint8_t> px(4, 0);
  CHECK_THROWS_WITH_AS(write_png_grey(dir / "no_such_dir" / "x.png", px.data(), 2, 2),
                       doctest::Contains("no_such_dir/x.png"), patchzoo::error);
  CHECK_THROWS_WITH_AS(write_png_grey(dir / "zero.png", px.data(), 0, 2),
                       doctest::Contains("zero.png: size 0x2 is not in 1..32768"), patchzoo::error);
  rgb_image broken(2, 2);
  broken.rgb.pop_back();
  CHECK_THROWS_WITH_AS(write_png(dir / "broken.png", broken), doctest::Contains("canvas 2x2 holds 11 bytes"),
                       patchzoo::error);
  write_file_bytes(dir / "fake.png", "not a png");
  CHECK_THROWS_WITH_AS(read_image(dir / "fake.png"), doctest::Contains("fake.png is not a readable PNG or JPEG image"),
                       patchzoo::error);
  CHECK_THROWS_WITH_AS(read_image(dir / "missing.png"), doctest::Contains("cannot open"), patchzoo::error);

  // A header that claims 20000 x 20000 pixels is refused before the decoder allocates for it.
  write_png_grey(dir / "small.png", px.data(), 2, 2);
  std::string forged = read_file_bytes(dir / "small.png");
  const char side[4] = {0, 0, 0x4e, 0x20};  // 20000, big-endian, for IHDR's width and height
  forged.replace(16, 4, side, 4);
  forged.replace(20, 4, side, 4);
  write_file_bytes(dir / "forged.png", forged);
  CHECK_THROWS_WITH_AS(read_image(dir / "forged.png"), doctest::Contains("forged.png is 20000x20000 pixels, more than"),
                       patchzoo::error);
}
