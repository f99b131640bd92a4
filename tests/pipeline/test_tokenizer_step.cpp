// The tokenizer step: input sizes per grid, training with a checkpoint that records the grid, encoding to a
// token file, decoding back, the reconstruction grid, and entropy maps over decoded images.
#include <algorithm>
#include <numeric>
#include <vector>

#include "patchzoo/image/image_reader.hpp"
#include "patchzoo/pipeline/entropy_maps.hpp"
#include "patchzoo/pipeline/tokenizer_step.hpp"
#include "pipeline/pipeline_fixture.hpp"

using namespace patchzoo;
namespace fs = std::filesystem;

TEST_CASE("tokenizer_input: grid 16 pads 28 -> 32, grid 24 resizes to 48, other grids are refused") {
  const auto ds = test::blob_dataset(3, 1);
  const auto padded = pipeline::tokenizer_input(ds, 16);
  CHECK(padded.rows == 32);
  CHECK(padded.cols == 32);
  CHECK(padded.labels == ds.labels);
  CHECK(padded.image(0)[2 * 32 + 2] == ds.image(0)[0]);  // 2 pixels of border each side
  const auto resized = pipeline::tokenizer_input(ds, 24);
  CHECK(resized.rows == 48);
  CHECK(resized.cols == 48);
  CHECK_THROWS_AS(pipeline::tokenizer_input(ds, 20), error);
}

TEST_CASE("tokenizer step: train, encode, decode and the reconstruction grid") {
  eigen_backend be;
  const temp_dir scratch("pipeline_tokenizer");
  const auto& dir = scratch.path;
  const auto images = pipeline::tokenizer_input(test::blob_dataset(256, 2), 16);
  pipeline::tokenizer_train_config cfg;
  cfg.grid = 16;
  cfg.model = test::tiny_tokenizer_config();
  cfg.train.steps = 40;
  cfg.train.batch = 16;
  cfg.train.lr = 1e-2;
  cfg.train.warmup = 4;
  cfg.train.checkpoint_every = 0;
  cfg.train.seed = 3;
  cfg.train.out_dir = dir / "tok";
  std::vector<double> mse;
  std::int64_t started_at = -1;
  const auto r = pipeline::train_tokenizer(
      be, images, cfg,
      {.on_start = [&](std::int64_t resumed, std::int64_t) { started_at = resumed; },
       .on_step = [&](const vq::vq_step_log& s) { mse.push_back(s.recon_mse); }});
  CHECK(started_at == 0);
  CHECK(r.steps == 40);
  CHECK(mse.size() == 40);
  const double first = std::accumulate(mse.begin(), mse.begin() + 5, 0.0), last = std::accumulate(mse.end() - 5, mse.end(), 0.0);
  CHECK(last < 0.7 * first);
  CHECK(r.last.recon_mse == mse.back());
  CHECK(fs::exists(r.checkpoint));
  CHECK(fs::exists(r.loss_png));
  CHECK(pipeline::tokenizer_grid(cfg.train.out_dir) == 16);
  CHECK_THROWS_AS(pipeline::train_tokenizer(be, pipeline::tokenizer_input(test::blob_dataset(4, 2), 24), cfg), error);

  auto model = vq::load_tokenizer(be, cfg.train.out_dir);
  std::int64_t progress = 0;
  const auto some = pipeline::tokenizer_input(test::blob_dataset(300, 4), 16);
  const auto f = pipeline::encode_images(be, *model, some, [&](std::int64_t done) { progress = done; }, 128);
  CHECK(progress == 300);
  CHECK(f.count() == 300);
  CHECK(f.grid_h == 16);
  CHECK(f.grid_w == 16);
  CHECK(f.codebook_size == 16);
  CHECK(f.labels == std::vector<std::uint16_t>(some.labels.begin(), some.labels.end()));
  CHECK(*std::max_element(f.tokens.begin(), f.tokens.end()) < 16);
  data::write_token_file(dir / "t.pztok", f);  // the format's own checks accept it
  CHECK(data::read_token_file(dir / "t.pztok").tokens == f.tokens);

  // Decoding the encoded grids is the tokenizer's reconstruction of the same images.
  std::vector<std::int64_t> first8(8);
  std::iota(first8.begin(), first8.end(), 0);
  const auto batch = data::make_batch(some, first8, data::pixel_range::minus_one_one);
  const auto decoded = pipeline::decode_tokens(be, *model, pipeline::token_rows_of(f, 8), 16, 16);
  const auto direct = model->reconstruct(be, batch.images);
  REQUIRE(decoded.shape() == direct.shape());
  for (std::int64_t i = 0; i < decoded.numel(); ++i) CHECK(decoded[i] == doctest::Approx(direct[i]).epsilon(1e-5));
  // Decoded 3 grids per pass (3 + 3 + 2), the same images: many grids never go through the decoder at once.
  const auto in_batches = pipeline::decode_tokens(be, *model, pipeline::token_rows_of(f, 8), 16, 16, 3);
  REQUIRE(in_batches.shape() == decoded.shape());
  for (std::int64_t i = 0; i < decoded.numel(); ++i) CHECK(in_batches[i] == doctest::Approx(decoded[i]).epsilon(1e-5));
  CHECK_THROWS_AS(pipeline::decode_tokens(be, *model, pipeline::token_rows_of(f, 8), 16, 16, 0), error);
  CHECK_THROWS_AS(pipeline::decode_tokens(be, *model, {{1, 2, 3}}, 16, 16), error);
  CHECK_THROWS_AS(pipeline::decode_tokens(be, *model, {std::vector<std::int32_t>(256, 16)}, 16, 16), error);
  CHECK_THROWS_AS(pipeline::token_rows_of(f, 301), error);

  const auto grid = pipeline::reconstruction_grid(batch.images, decoded, 4);
  image::write_png(dir / "recon.png", grid);
  const auto back = image::read_image(dir / "recon.png");
  CHECK(back.width == grid.width);
  CHECK(back.height == grid.height);
  CHECK(grid.height > 4 * 64);  // 8 images at 4 a row: 2 original rows + 2 reconstruction rows of 64 px
}

TEST_CASE("entropy maps: one per rank of total entropy, low to high, on one colour scale") {
  eigen_backend be;
  const temp_dir scratch("pipeline_maps");
  const auto& dir = scratch.path;
  vq::vq_tokenizer<eigen_backend, float> tok(test::tiny_tokenizer_config(), 5);
  const auto f = pipeline::encode_images(be, tok, pipeline::tokenizer_input(test::blob_dataset(7, 6), 16));
  dpar::entropy_file e{16, 16, std::vector<float>(static_cast<std::size_t>(7 * 256), 0.0f)};
  const float level[7] = {3, 0.5f, 6, 1, 2, 4, 5};  // image i: every H_t = level[i]
  for (std::int64_t i = 0; i < 7; ++i)
    std::fill(e.values.begin() + i * 256 + 1, e.values.begin() + (i + 1) * 256, level[i]);
  e.values[3 * 256 + 7] = 9.0f;  // the scale's maximum
  const auto m = pipeline::write_entropy_maps(be, tok, f, e, 3, dir / "maps");
  REQUIRE(m.maps.size() == 3);
  CHECK(m.maps[0].image == 1);  // lowest total
  CHECK(m.maps[1].image == 0);  // rank 3 of 7 (levels 0.5, 1, 2, 3, ...)
  CHECK(m.maps[2].image == 2);  // highest
  CHECK(m.maps[0].total_entropy == doctest::Approx(0.5 * 255));
  CHECK(m.maps[1].label == f.labels[0]);
  CHECK(m.scale_min == doctest::Approx(0.5));
  CHECK(m.scale_max == doctest::Approx(9.0));
  for (const auto& map : m.maps) CHECK(image::read_image(map.png).width > 256);
  dpar::entropy_file short_file{16, 16, std::vector<float>(256, 1.0f)};
  CHECK_THROWS_AS(pipeline::write_entropy_maps(be, tok, f, short_file, 3, dir / "maps"), error);
}
