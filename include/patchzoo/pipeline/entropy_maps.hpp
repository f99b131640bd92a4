#pragma once
// Entropy maps as a pipeline step: the next-token entropies of a few images drawn over the images the
// tokenizer decodes from their tokens, picked at evenly spaced ranks of total entropy (low -> high), all on
// one colour scale so the maps compare.
//   entropy_maps_result m = write_entropy_maps(be, tokenizer, tokens, entropies, 3, out_dir);
//   m.maps[k].png: out_dir / "entropy_<k>_image<i>.png"; m.scale_min / scale_max: the shared scale (nats)
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <string>
#include <vector>

#include "patchzoo/dpar/entropy_file.hpp"
#include "patchzoo/image/heatmap.hpp"
#include "patchzoo/image/png.hpp"
#include "patchzoo/vq/vq_tokenizer.hpp"

namespace patchzoo::pipeline {

struct entropy_map {
  std::int64_t image = 0;  // index in the token file
  int label = 0;
  double total_entropy = 0;  // sum of H_t over t >= 1, nats
  std::filesystem::path png;
};

struct entropy_maps_result {
  std::vector<entropy_map> maps;  // low to high total entropy
  double scale_min = 0, scale_max = 0;
};

template <backend B>
  requires vq::vq_ops<B, float>
entropy_maps_result write_entropy_maps(B& be, vq::vq_tokenizer<B, float>& tokenizer, const data::token_file& data,
                                       const dpar::entropy_file& e, std::int64_t count,
                                       const std::filesystem::path& out_dir) {
  dpar::check_entropy_matches(e, data, "entropy maps");
  check(count >= 1 && e.count() >= 1, "entropy maps", "needs images and a positive count (", count, ")");
  const std::int64_t t = data.tokens_per_image();
  std::vector<double> total(static_cast<std::size_t>(e.count()));
  for (std::int64_t i = 0; i < e.count(); ++i) {
    const auto row = e.image(i);
    total[static_cast<std::size_t>(i)] = std::accumulate(row.begin() + 1, row.end(), 0.0);
  }
  std::vector<std::int64_t> order(total.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
    return total[static_cast<std::size_t>(a)] < total[static_cast<std::size_t>(b)];
  });
  entropy_maps_result out;
  float lo = e.image(0)[1], hi = lo;
  for (std::int64_t i = 0; i < e.count(); ++i)
    for (std::int64_t j = 1; j < t; ++j) {
      lo = std::min(lo, e.image(i)[static_cast<std::size_t>(j)]);
      hi = std::max(hi, e.image(i)[static_cast<std::size_t>(j)]);
    }
  out.scale_min = lo;
  out.scale_max = hi;
  std::filesystem::create_directories(out_dir);
  const std::int64_t n = std::min(count, e.count());
  for (std::int64_t k = 0; k < n; ++k) {
    const std::int64_t rank = n == 1 ? 0 : k * (e.count() - 1) / (n - 1);
    const std::int64_t i = order[static_cast<std::size_t>(rank)];
    tensor<std::int32_t> codes(shape_t{1, data.grid_h, data.grid_w});
    for (std::int64_t j = 0; j < t; ++j) codes[j] = data.image(i)[j];
    const auto img = tokenizer.decode(be, codes);
    std::vector<float> values(e.image(i).begin(), e.image(i).end());
    values[0] = lo;  // H_0 is never predicted
    image::heatmap_options h;
    h.pixel_scale = std::max<std::int64_t>(1, 256 / img.dim(3));
    h.vmin = lo;
    h.vmax = hi;
    const int label = data.labels[static_cast<std::size_t>(i)];
    char title[96];
    std::snprintf(title, sizeof title, "image %lld label %d total H %.0f nats", static_cast<long long>(i), label,
                  total[static_cast<std::size_t>(i)]);
    h.title = title;
    const image::grey_underlay under{img.data(), img.dim(2), img.dim(3), -1.0, 1.0};
    const auto path = out_dir / ("entropy_" + std::to_string(k) + "_image" + std::to_string(i) + ".png");
    image::write_png(path, image::render_heatmap(values.data(), data.grid_h, data.grid_w, h, under));
    out.maps.push_back({i, label, total[static_cast<std::size_t>(i)], path});
  }
  return out;
}

}  // namespace patchzoo::pipeline
