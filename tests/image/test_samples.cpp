// Writes sample figures for a person to look at: a labelled Fashion-MNIST grid (10 classes x 8 samples),
// an entropy-style heatmap over an image, and loss curves. They go to a temporary directory removed at
// the end; to keep them, name a directory: PATCHZOO_KEEP_SAMPLES=/some/dir build/tests/test_image
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <optional>

#include "patchzoo/data/batch_iterator.hpp"
#include "patchzoo/data/fashion_mnist.hpp"
#include "patchzoo/data/transforms.hpp"
#include "patchzoo/image/grid.hpp"
#include "patchzoo/image/heatmap.hpp"
#include "patchzoo/image/plot.hpp"
#include "patchzoo/image/png.hpp"
#include "patchzoo/image/image_reader.hpp"
#include "support/temp_dir.hpp"

using namespace patchzoo;
using namespace patchzoo::image;

TEST_CASE("sample figures from Fashion-MNIST") {
  std::optional<temp_dir> scratch;
  std::filesystem::path sample_dir;
  if (const char* keep = std::getenv("PATCHZOO_KEEP_SAMPLES"); keep && *keep) {
    sample_dir = keep;
    std::filesystem::create_directories(sample_dir);
    MESSAGE("sample figures kept in ", sample_dir.string());
  } else {
    sample_dir = scratch.emplace("image_samples").path;
  }
  const data::fashion_mnist ds = data::load_fashion_mnist();

  // Grid: the first 8 test images of each class, one class per row.
  std::vector<std::int64_t> picks;
  for (int cls = 0; cls < 10; ++cls) {
    std::int64_t found = 0;
    for (std::int64_t i = 0; i < ds.test.size() && found < 8; ++i)
      if (ds.test.labels[static_cast<std::size_t>(i)] == cls) picks.push_back(i), ++found;
  }
  REQUIRE(picks.size() == 80);
  const data::image_batch b = data::make_batch(ds.test, picks);
  grid_options o;
  o.rows = 10;
  o.cols = 8;
  o.scale = 2;
  for (const char* name : data::fashion_mnist_classes) o.row_labels.push_back(name);
  for (int c = 0; c < 8; ++c) o.col_labels.push_back("#" + std::to_string(c + 1));
  const rgb_image grid = image_grid(b.images.cview(), o);
  write_png(sample_dir / "fashion_mnist_grid.png", grid);
  CHECK(read_image(sample_dir / "fashion_mnist_grid.png").data == grid.rgb);

  // Heatmap: a 48x48 bicubic upsample of a sneaker under a 16x16 map of local contrast (3x3 patches).
  const data::image_dataset big = data::resize_images_bicubic(ds.test.subset({picks[7 * 8]}), 48);
  std::vector<float> img(48 * 48), contrast(16 * 16);
  for (int i = 0; i < 48 * 48; ++i) img[i] = big.pixels[i] / 255.0f;
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 16; ++c) {
      float lo = 1, hi = 0;
      for (int y = 0; y < 3; ++y)
        for (int x = 0; x < 3; ++x) lo = std::min(lo, img[(3 * r + y) * 48 + 3 * c + x]), hi = std::max(hi, img[(3 * r + y) * 48 + 3 * c + x]);
      contrast[r * 16 + c] = hi - lo;
    }
  heatmap_options h;
  h.pixel_scale = 6;
  h.title = "patch contrast (16x16 over 48x48)";
  const rgb_image heat = render_heatmap(contrast.data(), 16, 16, h, grey_underlay{img.data(), 48, 48, 0.0, 1.0});
  write_png(sample_dir / "heatmap_over_image.png", heat);
  heatmap_options plain;
  plain.cell = 12;
  plain.title = "row+col";
  std::vector<float> ramp(16 * 16);
  for (int i = 0; i < 256; ++i) ramp[i] = static_cast<float>(i / 16 + i % 16);
  write_png(sample_dir / "heatmap_ramp.png", render_heatmap(ramp.data(), 16, 16, plain));

  // Loss curves.
  line_plot p{"Fashion-MNIST classifier (synthetic curves)", "step", "loss", {}};
  plot_series train{"train", {}, {}}, val{"validation", {}, {}};
  rng_stream noise(1);
  for (int i = 0; i <= 200; ++i) {
    train.x.push_back(i * 50);
    train.y.push_back(2.3 * std::exp(-i / 40.0) + 0.25 + 0.05 * (noise.uniform() - 0.5));
  }
  for (int i = 0; i <= 200; i += 20) {
    val.x.push_back(i * 50);
    val.y.push_back(2.3 * std::exp(-i / 45.0) + 0.33);
  }
  p.series = {train, val};
  write_plot_png(sample_dir / "loss_curves.png", p);
  write_svg(sample_dir / "loss_curves.svg", p);
  CHECK(read_image(sample_dir / "loss_curves.png").width == 640);
}
