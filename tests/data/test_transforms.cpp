#include <doctest/doctest.h>

#include <cmath>

#include "patchzoo/data/transforms.hpp"

using namespace patchzoo;
using namespace patchzoo::data;

namespace {

image_dataset single_image(std::int64_t rows, std::int64_t cols, std::vector<std::uint8_t> pixels) {
  return {rows, cols, std::move(pixels), {7}};
}

}  // namespace

TEST_CASE("bicubic kernel: interpolating weights that sum to one") {
  CHECK(image::keys_cubic(0.0) == 1.0);
  CHECK(image::keys_cubic(1.0) == 0.0);
  CHECK(image::keys_cubic(2.0) == 0.0);
  CHECK(image::keys_cubic(0.5) == doctest::Approx(0.5625));
  CHECK(image::keys_cubic(1.5) == doctest::Approx(-0.0625));
  for (double t : {0.1, 0.37, 0.5, 0.9}) {
    const double sum = image::keys_cubic(t + 1) + image::keys_cubic(t) + image::keys_cubic(1 - t) +
                       image::keys_cubic(2 - t);
    CHECK(sum == doctest::Approx(1.0));
  }
}

TEST_CASE("resize_bicubic: constant stays constant, n -> n is the identity") {
  const image_dataset flat = single_image(28, 28, std::vector<std::uint8_t>(28 * 28, 137));
  const image_dataset big = resize_images_bicubic(flat, 48);
  CHECK(big.rows == 48);
  CHECK(big.cols == 48);
  CHECK(big.labels == flat.labels);
  CHECK(big.pixels == std::vector<std::uint8_t>(48 * 48, 137));

  std::vector<std::uint8_t> noise(28 * 28);
  rng_stream r(3);
  for (auto& p : noise) p = static_cast<std::uint8_t>(r.below(256));
  const image_dataset same = resize_images_bicubic(single_image(28, 28, noise), 28);
  CHECK(same.pixels == noise);
}

TEST_CASE("resize_bicubic: a linear ramp stays linear away from the clamped edges") {
  // Float ramp f(r, c) = 2c + 3r on a 28x28 grid; its resampled value at output (y, x) is the ramp at
  // the aligned source coordinate s = (o + 0.5) * 28 / 48 - 0.5.
  std::vector<float> ramp(28 * 28), out(48 * 48);
  for (int r = 0; r < 28; ++r)
    for (int c = 0; c < 28; ++c) ramp[r * 28 + c] = 2.0f * c + 3.0f * r;
  image::resize_bicubic(ramp.data(), 28, 28, out.data(), 48, 48);
  const auto src = [](int o) { return (o + 0.5) * 28.0 / 48.0 - 0.5; };
  for (int y = 4; y < 44; ++y)
    for (int x = 4; x < 44; ++x) CHECK(out[y * 48 + x] == doctest::Approx(2.0 * src(x) + 3.0 * src(y)).epsilon(1e-5));
  // Near the border the clamped taps flatten the ramp but keep it monotone.
  for (int x = 1; x < 48; ++x) CHECK(out[x] >= out[x - 1]);

  // The byte path rounds the same ramp: within half a grey level.
  std::vector<std::uint8_t> bytes(28 * 28), big(48 * 48);
  for (int r = 0; r < 28; ++r)
    for (int c = 0; c < 28; ++c) bytes[r * 28 + c] = static_cast<std::uint8_t>(4 * c + 2 * r);
  image::resize_bicubic(bytes.data(), 28, 28, big.data(), 48, 48);
  for (int y = 4; y < 44; ++y)
    for (int x = 4; x < 44; ++x) CHECK(std::abs(big[y * 48 + x] - (4.0 * src(x) + 2.0 * src(y))) <= 0.5 + 1e-9);
}

TEST_CASE("resize_bicubic: byte output is clamped to 0..255 where the kernel overshoots") {
  std::vector<std::uint8_t> step(8 * 8, 0);
  for (int r = 0; r < 8; ++r)
    for (int c = 4; c < 8; ++c) step[r * 8 + c] = 255;
  std::vector<float> as_float(step.begin(), step.end()), f(20 * 20);
  image::resize_bicubic(as_float.data(), 8, 8, f.data(), 20, 20);
  CHECK(*std::max_element(f.begin(), f.end()) > 255.0f);  // ringing exists in float
  CHECK(*std::min_element(f.begin(), f.end()) < 0.0f);
  const image_dataset big = resize_images_bicubic(single_image(8, 8, step), 20);
  CHECK(*std::max_element(big.pixels.begin(), big.pixels.end()) == 255);
  CHECK(*std::min_element(big.pixels.begin(), big.pixels.end()) == 0);
  CHECK(big.pixels[10 * 20 + 0] == 0);
  CHECK(big.pixels[10 * 20 + 19] == 255);
}

TEST_CASE("pad_images: 28 -> 32 keeps the image at the centre with a fill border") {
  std::vector<std::uint8_t> px(28 * 28);
  for (int i = 0; i < 28 * 28; ++i) px[i] = static_cast<std::uint8_t>(1 + i % 250);
  image_dataset two{28, 28, px, {1, 2}};
  two.pixels.insert(two.pixels.end(), px.rbegin(), px.rend());
  const image_dataset padded = pad_images(two, 32, 9);
  CHECK(padded.rows == 32);
  CHECK(padded.size() == 2);
  CHECK(padded.labels == two.labels);
  for (int i = 0; i < 2; ++i)
    for (int r = 0; r < 32; ++r)
      for (int c = 0; c < 32; ++c) {
        const bool inside = r >= 2 && r < 30 && c >= 2 && c < 30;
        const std::uint8_t want = inside ? two.image(i)[(r - 2) * 28 + (c - 2)] : 9;
        REQUIRE(padded.image(i)[r * 32 + c] == want);
      }
  const image_dataset same = pad_images(two, 28);
  CHECK(same.pixels == two.pixels);
  CHECK_THROWS_WITH_AS(pad_images(two, 27), doctest::Contains("target size 27 is smaller than the 28x28 images"),
                       patchzoo::error);
}

TEST_CASE("pad_image: odd margins put the extra pixel at the bottom right") {
  const std::vector<float> one{5.0f};
  std::vector<float> out(4);
  image::pad_image(one.data(), 1, 1, out.data(), 2, 2, 0.0f);
  CHECK(out == std::vector<float>{5.0f, 0.0f, 0.0f, 0.0f});
}
