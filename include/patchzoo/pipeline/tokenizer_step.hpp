#pragma once
// The VQ tokenizer as a pipeline step: train on Fashion-MNIST at a 16x16 or 24x24 token grid, encode
// images to a token file, decode token grids back to images.
//   data::image_dataset images = load_tokenizer_images(data_dir, "train", 20000, 16);  // 28 -> 32 padded
//   tokenizer_train_result r = train_tokenizer(be, images, {.grid = 16, .model = ..., .train = ...}, hooks);
//   auto model = vq::load_tokenizer(be, dir);  int grid = tokenizer_grid(dir);
//   data::token_file f = encode_images(be, *model, images, on_progress);
//   tensor<float> pixels = decode_tokens(be, *model, rows, grid_h, grid_w);  // [n, 1, H, W] in [-1, 1]
//   image::rgb_image g = reconstruction_grid(originals, pixels, 8);  // "orig" rows above "recon" rows
// --grid 16 pads 28 -> 32, --grid 24 resizes 28 -> 48 (bicubic); the encoder halves once. The grid is
// stored in the checkpoint ("data.grid"), so later steps read it from there.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <numeric>
#include <string>
#include <vector>

#include "patchzoo/data/batch_iterator.hpp"
#include "patchzoo/data/fashion_mnist.hpp"
#include "patchzoo/data/transforms.hpp"
#include "patchzoo/image/grid.hpp"
#include "patchzoo/image/plot.hpp"
#include "patchzoo/data/token_file.hpp"
#include "patchzoo/vq/vq_checkpoint.hpp"
#include "patchzoo/vq/vq_trainer.hpp"

namespace patchzoo::pipeline {

// 28x28 images at the tokenizer's input size for a token grid of 16 or 24.
inline data::image_dataset tokenizer_input(const data::image_dataset& ds, int grid) {
  check(grid == 16 || grid == 24, "tokenizer_input", "token grid ", grid, " is not 16 or 24");
  return grid == 16 ? data::pad_images(ds, 32) : data::resize_images_bicubic(ds, 48);
}

// The first `limit` images (0: all) of a Fashion-MNIST split, at the input size of `grid`.
inline data::image_dataset load_tokenizer_images(const std::filesystem::path& data_dir, const std::string& split,
                                                 std::int64_t limit, int grid) {
  check(split == "train" || split == "test", "load_tokenizer_images", "split '", split, "' is not train or test");
  auto both = data::load_fashion_mnist(data_dir);
  auto& ds = split == "train" ? both.train : both.test;
  if (limit > 0 && limit < ds.size()) {
    std::vector<std::int64_t> first(static_cast<std::size_t>(limit));
    std::iota(first.begin(), first.end(), 0);
    ds = ds.subset(first);
  }
  return tokenizer_input(ds, grid);
}

// The grid a tokenizer run directory was trained for, from its checkpoint metadata.
inline int tokenizer_grid(const std::filesystem::path& dir) {
  const safetensors_reader r(vq::checkpoint_path(dir));
  return static_cast<int>(vq::metadata_int(r.path(), r.metadata(), "data.grid"));
}

struct tokenizer_train_config {
  int grid = 16;
  vq::vq_config model;
  vq::vq_train_config train;  // train.out_dir: checkpoint (codebook state included), loss.csv, loss.png
};

struct tokenizer_train_result {
  std::int64_t parameters = 0, steps = 0, resumed_at = 0, images = 0;
  vq::vq_step_log last;  // the final step's batch metrics
  double seconds = 0;    // this run only (not the resumed part)
  double images_per_second = 0;
  std::filesystem::path checkpoint, loss_csv, loss_png;
};

struct tokenizer_hooks {
  std::function<void(std::int64_t resumed_at, std::int64_t parameters)> on_start;
  std::function<void(const vq::vq_step_log&)> on_step;
};

inline void write_tokenizer_loss_plot(const std::filesystem::path& path, const std::vector<vq::vq_step_log>& history) {
  image::line_plot p{"VQ tokenizer training", "step", "loss", {{"recon mse", {}, {}}, {"codebook loss", {}, {}}}};
  for (const auto& h : history) {
    p.series[0].x.push_back(static_cast<double>(h.step));
    p.series[0].y.push_back(h.recon_mse);
    p.series[1].x.push_back(static_cast<double>(h.step));
    p.series[1].y.push_back(h.quantizer_loss);
  }
  image::write_plot_png(path, p);
}

// Trains (or resumes, when train.out_dir holds a checkpoint) on `images` already at the input size.
template <backend B>
  requires vq::vq_ops<B, float>
tokenizer_train_result train_tokenizer(B& be, const data::image_dataset& images, const tokenizer_train_config& cfg,
                                       const tokenizer_hooks& hooks = {}) {
  const std::int64_t side = cfg.grid == 16 ? 32 : 48;
  check(images.rows == side && images.cols == side, "train_tokenizer", "images are ", images.rows, "x", images.cols,
        "; a grid of ", cfg.grid, " needs ", side, "x", side, " (tokenizer_input)");
  vq::vq_tokenizer<B, float> model(cfg.model, cfg.train.seed);
  vq::vq_trainer<B> trainer(model, images, cfg.train);
  trainer.set_metadata("data.grid", std::to_string(cfg.grid));
  tokenizer_train_result r;
  r.resumed_at = trainer.resume(be);
  r.parameters = model.layout().total();
  if (hooks.on_start) hooks.on_start(r.resumed_at, r.parameters);
  const auto start = std::chrono::steady_clock::now();
  trainer.run(be, hooks.on_step);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  check(!trainer.history().empty(), "train_tokenizer", "the run in ", cfg.train.out_dir.string(), " has no logged step");
  r.steps = trainer.step();
  r.images = images.size();
  r.last = trainer.history().back();
  const std::int64_t trained = r.steps - r.resumed_at;  // 0 when the checkpoint was already complete
  r.images_per_second = trained > 0 ? static_cast<double>(trained * cfg.train.batch) / r.seconds : 0.0;
  if (!cfg.train.out_dir.empty() && training::is_root(cfg.train.comm)) {  // rank 0 writes a data-parallel run's files
    r.checkpoint = vq::checkpoint_path(cfg.train.out_dir);
    r.loss_csv = cfg.train.out_dir / "loss.csv";
    r.loss_png = cfg.train.out_dir / "loss.png";
    write_tokenizer_loss_plot(r.loss_png, trainer.history());
  }
  return r;
}

// Token grids and labels of every image; on_progress(done) counts images.
template <backend B>
  requires vq::vq_ops<B, float>
data::token_file encode_images(B& be, vq::vq_tokenizer<B, float>& model, const data::image_dataset& images,
                             const std::function<void(std::int64_t)>& on_progress = {}, std::int64_t batch = 256) {
  data::token_file f;
  f.codebook_size = model.config().codebook_size;
  f.labels.assign(images.labels.begin(), images.labels.end());
  std::vector<std::int64_t> indices;
  for (std::int64_t begin = 0; begin < images.size(); begin += batch) {
    indices.resize(static_cast<std::size_t>(std::min(batch, images.size() - begin)));
    std::iota(indices.begin(), indices.end(), begin);
    const auto codes = model.encode(be, data::make_batch(images, indices, data::pixel_range::minus_one_one).images);
    f.grid_h = codes.dim(1);
    f.grid_w = codes.dim(2);
    for (std::int64_t i = 0; i < codes.numel(); ++i) f.tokens.push_back(static_cast<std::uint16_t>(codes[i]));
    if (on_progress) on_progress(begin + static_cast<std::int64_t>(indices.size()));
  }
  return f;
}

// Images [n, 1, H, W] in [-1, 1] of n token grids (row-major, grid_h x grid_w each).
template <backend B>
  requires vq::vq_ops<B, float>
tensor<float> decode_tokens(B& be, vq::vq_tokenizer<B, float>& model, const std::vector<std::vector<std::int32_t>>& rows,
                            std::int64_t grid_h, std::int64_t grid_w, std::int64_t batch = 256) {
  const auto n = static_cast<std::int64_t>(rows.size());
  check(n > 0, "decode_tokens", "no token grids to decode");
  check(batch >= 1, "decode_tokens", "batch ", batch, " must be >= 1");
  for (std::int64_t i = 0; i < n; ++i) {
    const auto& row = rows[static_cast<std::size_t>(i)];
    check(static_cast<std::int64_t>(row.size()) == grid_h * grid_w, "decode_tokens", "grid ", i, " holds ", row.size(),
          " tokens, expected ", grid_h, "x", grid_w);
    for (const auto t : row)
      check(t >= 0 && t < model.config().codebook_size, "decode_tokens", "token ", t, " of grid ", i,
            " is outside the codebook of ", model.config().codebook_size);
  }
  // `batch` grids per decoder pass: the decoder's activations of a few thousand images at once exceed memory.
  tensor<float> images;
  for (std::int64_t begin = 0; begin < n; begin += batch) {
    const std::int64_t count = std::min(batch, n - begin);
    tensor<std::int32_t> codes(shape_t{count, grid_h, grid_w});
    for (std::int64_t i = 0; i < count; ++i) {
      const auto& row = rows[static_cast<std::size_t>(begin + i)];
      std::copy(row.begin(), row.end(), codes.data() + i * grid_h * grid_w);
    }
    const tensor<float> part = model.decode(be, codes);
    if (begin == 0) images = tensor<float>(shape_t{n, part.dim(1), part.dim(2), part.dim(3)});
    std::copy_n(part.data(), part.numel(), images.data() + begin * (part.numel() / count));
  }
  return images;
}

// The first `count` grids of a token file as rows for decode_tokens.
inline std::vector<std::vector<std::int32_t>> token_rows_of(const data::token_file& f, std::int64_t count) {
  check(count >= 0 && count <= f.count(), "token_rows_of", "asked for ", count, " grids, the file holds ", f.count());
  std::vector<std::vector<std::int32_t>> rows;
  for (std::int64_t i = 0; i < count; ++i) rows.emplace_back(f.image(i), f.image(i) + f.tokens_per_image());
  return rows;
}

// Originals (odd rows) above their reconstructions (even rows), `cols` per row; both [n, 1, H, W] in [-1, 1].
inline image::rgb_image reconstruction_grid(const tensor<float>& originals, const tensor<float>& recon, std::int64_t cols) {
  check(originals.shape() == recon.shape() && originals.rank() == 4 && cols >= 1, "reconstruction_grid",
        "originals ", originals.shape().str(), " and reconstructions ", recon.shape().str(),
        " must both be [n, 1, H, W]");
  const std::int64_t n = originals.dim(0), h = originals.dim(2), w = originals.dim(3);
  std::vector<const float*> cells;
  image::grid_options g;
  for (std::int64_t begin = 0; begin < n; begin += cols) {
    const std::int64_t in_row = std::min(cols, n - begin);
    for (const tensor<float>* source : {&originals, &recon}) {
      for (std::int64_t c = 0; c < cols; ++c) cells.push_back(c < in_row ? source->data() + (begin + c) * h * w : nullptr);
      g.row_labels.push_back(source == &originals ? "orig" : "recon");
    }
  }
  g.rows = static_cast<std::int64_t>(g.row_labels.size());
  g.cols = cols;
  g.scale = 2;
  g.lo = -1.0;
  g.hi = 1.0;
  return image::image_grid(cells, h, w, g);
}

}  // namespace patchzoo::pipeline
