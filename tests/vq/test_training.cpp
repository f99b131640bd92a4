// Training the tokenizer: 30 steps on 32 Fashion-MNIST images lower the reconstruction loss, Eigen and
// the xtensor reference agree over the first steps, a resumed run reproduces the uninterrupted one,
// and evaluation reports sane metrics. Falls back to synthetic blobs where the data set is absent.
#include <filesystem>
#include <numeric>

#include "support/temp_dir.hpp"
#include "patchzoo/data/fashion_mnist.hpp"
#include "patchzoo/data/transforms.hpp"
#include "patchzoo/vq/vq_metrics.hpp"
#include "patchzoo/vq/vq_trainer.hpp"
#include "vq/vq_fixture.hpp"

using namespace patchzoo;
using namespace patchzoo::test;

namespace {

// 32 images padded to 32x32: real Fashion-MNIST when installed.
const data::image_dataset& small_dataset() {
  static const data::image_dataset ds = [] {
    if (std::filesystem::exists(data::fashion_mnist_default_dir / "t10k-images-idx3-ubyte.gz")) {
      auto test = data::load_idx_images(data::fashion_mnist_default_dir / "t10k-images-idx3-ubyte.gz",
                                        data::fashion_mnist_default_dir / "t10k-labels-idx1-ubyte.gz", 10);
      std::vector<std::int64_t> first(32);
      std::iota(first.begin(), first.end(), 0);
      return data::pad_images(test.subset(first), 32);
    }
    MESSAGE("Fashion-MNIST is not installed: synthetic blobs instead");
    const auto blobs = blob_images<float>(32, 32, 99);
    data::image_dataset out{32, 32, std::vector<std::uint8_t>(32 * 32 * 32), std::vector<std::uint8_t>(32, 0)};
    for (std::int64_t i = 0; i < blobs.numel(); ++i)
      out.pixels[i] = static_cast<std::uint8_t>(std::lround((blobs[i] + 1.0f) * 127.5f));
    return out;
  }();
  return ds;
}

vq::vq_config small_config() {
  vq::vq_config c;
  c.codebook_size = 64;
  c.code_dim = 8;
  c.hidden = 16;
  c.downsample = 2;
  c.dead_code_steps = 10;
  return c;
}

vq::vq_train_config small_training(std::int64_t steps) {
  vq::vq_train_config t;
  t.steps = steps;
  t.batch = 8;
  t.lr = 3e-3;
  t.warmup = 3;
  t.checkpoint_every = 0;
  t.seed = 5;
  return t;
}

}  // namespace

TEST_CASE("vq training: 30 steps lower the reconstruction loss and the codebook gets used") {
  eigen_backend be;
  vq::vq_tokenizer<eigen_backend, float> model(small_config(), 1);
  vq::vq_trainer<eigen_backend> trainer(model, small_dataset(), small_training(30));
  trainer.run(be);
  const auto& h = trainer.history();
  REQUIRE(h.size() == 30);
  const double first = (h[0].recon_mse + h[1].recon_mse + h[2].recon_mse) / 3;
  const double last = (h[27].recon_mse + h[28].recon_mse + h[29].recon_mse) / 3;
  CHECK(last < 0.6 * first);
  CHECK(h.back().perplexity > 2.0);
  CHECK(h.back().usage > 0.0);

  const auto eval = vq::evaluate_tokenizer(be, model, small_dataset(), 16);
  CHECK(eval.images == 32);
  CHECK(eval.tokens_per_image == 256);
  CHECK(eval.psnr > 10.0);
  CHECK(eval.psnr == doctest::Approx(vq::psnr_from_mse(eval.mse)));
  CHECK(eval.codebook_usage > 0.0);
  CHECK(eval.codebook_usage <= 1.0);
}

TEST_CASE("vq training: Eigen and the xtensor reference agree over the first steps") {
  eigen_backend fast;
  xtensor_backend ref;
  vq::vq_tokenizer<eigen_backend, float> fm(small_config(), 2);
  vq::vq_tokenizer<xtensor_backend, float> rm(small_config(), 2);
  vq::vq_trainer<eigen_backend> ft(fm, small_dataset(), small_training(4));
  vq::vq_trainer<xtensor_backend> rt(rm, small_dataset(), small_training(4));
  ft.run(fast);
  rt.run(ref);
  for (std::size_t s = 0; s < 4; ++s) {
    CAPTURE(s);
    CHECK(ft.history()[s].recon_mse == doctest::Approx(rt.history()[s].recon_mse).epsilon(1e-3));
    CHECK(ft.history()[s].quantizer_loss == doctest::Approx(rt.history()[s].quantizer_loss).epsilon(1e-2));
  }
}

TEST_CASE("vq training: a run resumed from its checkpoint reproduces the uninterrupted run (EMA mode)") {
  eigen_backend be;
  auto cfg = small_config();
  cfg.mode = vq::quantizer_mode::ema;
  cfg.dead_code_steps = 3;
  temp_dir whole, split;
  auto t = small_training(10);
  t.checkpoint_every = 5;

  t.out_dir = whole.path;
  vq::vq_tokenizer<eigen_backend, float> m1(cfg, 3);
  vq::vq_trainer<eigen_backend> t1(m1, small_dataset(), t);
  t1.run(be);

  t.out_dir = split.path;
  {
    vq::vq_tokenizer<eigen_backend, float> m2(cfg, 3);
    vq::vq_trainer<eigen_backend> t2(m2, small_dataset(), t);
    t2.run(be, {}, 5);
    CHECK(t2.step() == 5);
  }
  vq::vq_tokenizer<eigen_backend, float> m3(cfg, 77);  // other initial weights: the checkpoint must win
  vq::vq_trainer<eigen_backend> t3(m3, small_dataset(), t);
  CHECK(t3.resume(be) == 5);
  t3.run(be);
  REQUIRE(t3.history().size() == 10);
  for (std::size_t s = 0; s < 10; ++s) {
    CAPTURE(s);
    CHECK(t3.history()[s].recon_mse == t1.history()[s].recon_mse);
    CHECK(t3.history()[s].quantizer_loss == t1.history()[s].quantizer_loss);
    CHECK(t3.history()[s].restarted == t1.history()[s].restarted);
  }
  CHECK(std::filesystem::exists(split / "loss.csv"));
  CHECK(read_file_bytes(split / "loss.csv") == read_file_bytes(whole / "loss.csv"));

  const auto loaded = vq::load_tokenizer(be, split.path);
  CHECK(loaded->config().mode == vq::quantizer_mode::ema);
  CHECK(loaded->config().dead_code_steps == 3);
}
