#pragma once
// Tokenizer quality on a data set: reconstruction MSE and PSNR on the [0, 1] pixel scale (peak 1, over
// all pixels of the set; reconstructions clamped to the valid range first), codebook usage (fraction of
// codes used at least once), perplexity of the code distribution, and tokens per image.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <numeric>
#include <vector>

#include "patchzoo/data/batch_iterator.hpp"
#include "patchzoo/vq/vq_tokenizer.hpp"

namespace patchzoo::vq {

struct vq_eval_result {
  std::int64_t images = 0;
  double mse = 0;   // [0, 1] pixel scale
  double psnr = 0;  // dB, peak 1
  double codebook_usage = 0;
  double perplexity = 0;
  std::int64_t tokens_per_image = 0;
};

inline double psnr_from_mse(double mse) { return mse > 0 ? 10.0 * std::log10(1.0 / mse) : INFINITY; }

// on_batch(done) reports progress in images.
template <backend B>
  requires vq_ops<B, float>
vq_eval_result evaluate_tokenizer(B& be, vq_tokenizer<B, float>& model, const data::image_dataset& ds,
                                  std::int64_t batch_size, const std::function<void(std::int64_t)>& on_batch = {}) {
  check(ds.size() > 0 && batch_size > 0, "evaluate_tokenizer", "needs images and a positive batch size");
  code_histogram histogram(model.config().codebook_size);
  double squared = 0;
  std::vector<std::int64_t> indices;
  for (std::int64_t begin = 0; begin < ds.size(); begin += batch_size) {
    indices.resize(static_cast<std::size_t>(std::min(batch_size, ds.size() - begin)));
    std::iota(indices.begin(), indices.end(), begin);
    const auto batch = data::make_batch(ds, indices, data::pixel_range::minus_one_one);
    const auto codes = model.encode(be, batch.images);
    histogram.add(codes.data(), codes.numel());
    const auto recon = model.decode(be, codes);
    for (std::int64_t i = 0; i < recon.numel(); ++i) {
      const double r = (std::clamp(static_cast<double>(recon[i]), -1.0, 1.0) + 1.0) * 0.5;
      const double x = (static_cast<double>(batch.images[i]) + 1.0) * 0.5;
      squared += (r - x) * (r - x);
    }
    if (on_batch) on_batch(begin + static_cast<std::int64_t>(indices.size()));
  }
  vq_eval_result r;
  r.images = ds.size();
  r.mse = squared / static_cast<double>(ds.size() * ds.pixels_per_image());
  r.psnr = psnr_from_mse(r.mse);
  r.codebook_usage = histogram.usage();
  r.perplexity = histogram.perplexity();
  r.tokens_per_image = model.grid_side(ds.rows) * model.grid_side(ds.cols);
  return r;
}

}  // namespace patchzoo::vq
