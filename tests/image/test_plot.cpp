#include <doctest/doctest.h>

#include <algorithm>
#include <regex>

#include "support/temp_dir.hpp"
#include "patchzoo/image/plot.hpp"
#include "patchzoo/image/image_reader.hpp"

using namespace patchzoo;
using namespace patchzoo::image;

namespace {

line_plot loss_curves() {
  line_plot p{"loss", "step", "nats", {}};
  plot_series train{"train <a&b>", {}, {}}, val{"validation", {}, {}};
  for (int i = 0; i < 50; ++i) {
    train.x.push_back(i * 10);
    train.y.push_back(2.5 * std::exp(-i / 15.0) + 0.3);
  }
  for (int i = 0; i < 50; i += 10) {
    val.x.push_back(i * 10);
    val.y.push_back(2.5 * std::exp(-i / 15.0) + 0.4);
  }
  p.series = {train, val};
  return p;
}

// Antialiased strokes are the series colour blended over white with some opacity: estimate it from each
// channel the colour darkens, require the estimates to agree and the opacity to be at least 0.6.
bool near(colour c, colour series) {
  std::vector<double> alpha;
  const auto add = [&](int v, int s) {
    if (s < 250) alpha.push_back((255.0 - v) / (255.0 - s));
  };
  add(c.r, series.r);
  add(c.g, series.g);
  add(c.b, series.b);
  const auto [lo, hi] = std::minmax_element(alpha.begin(), alpha.end());
  return *lo >= 0.6 && *hi <= 1.0 + 1e-9 && *hi - *lo < 0.1;
}

std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (auto pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("nice_ticks: 1-2-5 steps covering the range, flat ranges widened") {
  const axis_ticks t = nice_ticks(0.31, 2.8, 5);
  CHECK(t.step == doctest::Approx(0.5));
  CHECK(t.lo == doctest::Approx(0.0));
  CHECK(t.hi == doctest::Approx(3.0));
  CHECK(t.values.size() == 7);
  const axis_ticks k = nice_ticks(0, 490, 8);
  CHECK(k.step == doctest::Approx(50));
  CHECK(k.hi == doctest::Approx(500));
  const axis_ticks flat = nice_ticks(2, 2);
  CHECK(flat.lo < 2);
  CHECK(flat.hi > 2);
  CHECK(tick_label(0.5, 0.5) == "0.5");
  CHECK(tick_label(150, 50) == "150");
  CHECK(tick_label(0.25, 0.05) == "0.25");
}

TEST_CASE("to_svg: well-formed document, one polyline per series with every point, escaped text") {
  const line_plot p = loss_curves();
  const std::string svg = to_svg(p, 640, 400);
  CHECK(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0) == 0);
  CHECK(svg.find("</svg>") == svg.size() - 7);
  CHECK(count(svg, "<polyline") == 2);
  const std::regex poly("points=\"([^\"]*)\"");
  std::vector<std::size_t> points;
  for (std::sregex_iterator it(svg.begin(), svg.end(), poly), end; it != end; ++it)
    points.push_back(count((*it)[1].str(), ",") );
  CHECK(points == std::vector<std::size_t>{50, 5});
  CHECK(svg.find("train &lt;a&amp;b&gt;") != std::string::npos);
  CHECK(svg.find("train <a") == std::string::npos);
  CHECK(count(svg, "<text") == count(svg, "</text>"));
  CHECK(count(svg, "<g ") == count(svg, "</g>"));

  line_plot gap = p;
  gap.series[0].y[20] = std::nan("");
  CHECK(count(to_svg(gap), "<polyline") == 3);  // the NaN splits the training curve
  gap.series[1].x.pop_back();
  CHECK_THROWS_WITH_AS(to_svg(gap), doctest::Contains("series 'validation' has 4 x values and 5 y values"),
                       patchzoo::error);
}

TEST_CASE("render_plot: curves in series colours inside the axes, written as a readable PNG and SVG") {
  const line_plot p = loss_curves();
  const rgb_image img = render_plot(p, 480, 320);
  CHECK(img.width == 480);
  const plot_frame f = layout_plot(p, 480, 320);
  std::int64_t blue = 0, orange = 0, outside = 0;
  for (std::int64_t y = 0; y < img.height; ++y)
    for (std::int64_t x = 0; x < img.width; ++x) {
      const colour c = img.at(x, y);
      const bool in_axes = x >= f.left && x <= f.right && y >= f.top && y <= f.bottom;
      if (near(c, series_colour(0))) {
        ++blue;
        outside += !in_axes;
      }
      if (near(c, series_colour(1))) ++orange;
    }
  CHECK(blue > 400);
  CHECK(orange > 300);
  CHECK(outside == 0);

  // The first training point (x = 0, y = 2.8) is drawn at its mapped pixel.
  const colour first = img.at(std::lround(f.px(0)), std::lround(f.py(2.8)));
  CHECK(first != white);

  temp_dir dir;
  write_plot_png(dir / "loss.png", p, 480, 320);
  write_svg(dir / "loss.svg", p);
  const decoded_image back = read_image(dir / "loss.png");
  CHECK(back.width == 480);
  CHECK(back.data == img.rgb);
  CHECK(read_file_bytes(dir / "loss.svg") == to_svg(p));
  CHECK_THROWS_WITH_AS(render_plot(p, 50, 50), doctest::Contains("below the 120x90 minimum"), patchzoo::error);
}
