#include <doctest/doctest.h>

#include <cmath>

#include "patchzoo/image/colormap.hpp"

using namespace patchzoo::image;

TEST_CASE("viridis: matplotlib endpoints and midpoint, clamping, monotone luminance") {
  CHECK(viridis(0.0) == colour{68, 1, 84});
  CHECK(viridis(1.0) == colour{253, 231, 37});
  CHECK(viridis(0.5) == colour{33, 145, 140});
  CHECK(viridis(-3.0) == viridis(0.0));
  CHECK(viridis(7.0) == viridis(1.0));
  CHECK(viridis(std::nan("")) == viridis(0.0));
  // Strictly rising at 100 steps; at 256 steps 8-bit rounding may tie or dip by a hair (< 1e-4).
  double previous = -1.0;
  for (int i = 0; i <= 100; ++i) {
    const double l = relative_luminance(viridis(i / 100.0));
    CHECK(l > previous);
    previous = l;
  }
  previous = -1.0;
  for (int i = 0; i <= 255; ++i) {
    const double l = relative_luminance(viridis(i / 255.0));
    CHECK(l > previous - 1e-4);
    previous = l;
  }
  CHECK(relative_luminance(black) == 0.0);
  CHECK(relative_luminance(white) == doctest::Approx(1.0));
}
