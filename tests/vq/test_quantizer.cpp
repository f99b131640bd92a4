// The vector quantizer: nearest normalised code on a hand case, and its continuous gradients by finite
// differences in double (codes are piecewise constant: every nudge is checked not to flip one).
#include <cmath>

#include "vq/vq_fixture.hpp"

using namespace patchzoo;
using namespace patchzoo::test;

TEST_CASE("vq quantizer: picks the code of largest cosine similarity, whatever the code norms") {
  xtensor_backend be;
  vq::vq_config cfg = tiny_vq_config();
  cfg.codebook_size = 3;
  cfg.code_dim = 2;
  // Code 0 is long but points along x; code 2 is the diagonal (-1, -1).
  const tensor<double> codebook(shape_t{3, 2}, {5.0, 0.0, 0.0, 0.5, -1.0, -1.0});
  // Latents [B=1, D=2, h=1, w=3]: columns (0.1, 2), (3, 0.5), (-1, -2).
  const tensor<double> z(shape_t{1, 2, 1, 3}, {0.1, 3.0, -1.0, 2.0, 0.5, -2.0});
  vq::vector_quantizer<xtensor_backend, double> q(cfg);
  tensor<double> zq(z.shape());
  const double loss = q.forward(be, codebook.cview(), z.cview(), zq.view());
  CHECK(q.codes().to_vector() == std::vector<std::int32_t>{1, 0, 2});
  const double s = 1.0 / std::sqrt(2.0);
  const std::vector<double> want{0.0, 1.0, -s, 1.0, 0.0, -s};  // [D, w]: normalised codes per column
  for (std::size_t i = 0; i < want.size(); ++i) CHECK(zq[static_cast<std::int64_t>(i)] == doctest::Approx(want[i]));
  double mse = 0.0;
  for (int col = 0; col < 3; ++col) {
    const double x = z[col], y = z[3 + col], n = std::sqrt(x * x + y * y);
    mse += std::pow(x / n - zq[col], 2) + std::pow(y / n - zq[3 + col], 2);
  }
  CHECK(loss == doctest::Approx((1.0 + cfg.beta) * mse / 6.0));
}

TEST_CASE("vq quantizer: straight-through, commitment and codebook gradients by finite differences") {
  xtensor_backend be;
  vq::vq_config cfg = tiny_vq_config();
  cfg.beta = 0.3;
  const std::int64_t b = 2, d = cfg.code_dim, h = 2, w = 3, n = b * h * w;
  dtensor z = random_tensor<double>({b, d, h, w}, 71);
  dtensor codebook = random_tensor<double>({cfg.codebook_size, d}, 72);
  const dtensor wrows = loss_weights({n, d});  // weights on z_n rows: the decoder's gradient, straight through
  vq::vector_quantizer<xtensor_backend, double> q(cfg);
  dtensor zq(z.shape());
  q.forward(be, codebook.cview(), z.cview(), zq.view());
  const auto codes = q.codes().to_vector();

  // dzq is the row weights laid out as [B, D, h, w].
  dtensor dzq(z.shape());
  transpose_last2(be, dzq.view().reshape({b, d, h * w}), wrows.cview().reshape({b, h * w, d}), false);
  dtensor dz = prefilled_grad(z.shape()), dcodebook = prefilled_grad(codebook.shape());
  q.backward(be, codebook.cview(), dcodebook.view(), dzq.cview(), dz.view());

  int flips = 0;
  // With codes fixed the quantizer loss is (1 + beta) * mse(z_n, e_n); the commitment part is
  // beta / (1 + beta) of it (gradient to z), the codebook part 1 / (1 + beta) (gradient to e).
  const auto run = [&] {
    const double loss = q.forward(be, codebook.cview(), z.cview(), zq.view());
    flips += q.codes().to_vector() != codes;
    return loss;
  };
  check_gradient("dz", z, accumulated(dz), [&] {
    const double loss = run();
    return weighted_sum(q.normalized_latents(), wrows) + cfg.beta / (1.0 + cfg.beta) * loss;
  });
  check_gradient("dcodebook", codebook, accumulated(dcodebook), [&] { return run() / (1.0 + cfg.beta); });
  CHECK(flips == 0);
}

TEST_CASE("vq quantizer: with EMA the codebook gets no gradient and the loss is the commitment alone") {
  xtensor_backend be;
  vq::vq_config cfg = tiny_vq_config();
  cfg.mode = vq::quantizer_mode::ema;
  const dtensor z = random_tensor<double>({1, cfg.code_dim, 2, 2}, 73);
  const dtensor codebook = random_tensor<double>({cfg.codebook_size, cfg.code_dim}, 74);
  vq::vector_quantizer<xtensor_backend, double> q(cfg);
  dtensor zq(z.shape()), dz(z.shape()), dcodebook = prefilled_grad(codebook.shape());
  const double ema_loss = q.forward(be, codebook.cview(), z.cview(), zq.view());
  q.backward(be, codebook.cview(), dcodebook.view(), zq.cview(), dz.view());
  for (std::int64_t i = 0; i < dcodebook.numel(); ++i) REQUIRE(dcodebook[i] == grad_prefill);
  cfg.mode = vq::quantizer_mode::loss;
  vq::vector_quantizer<xtensor_backend, double> q_loss(cfg);
  const double full = q_loss.forward(be, codebook.cview(), z.cview(), zq.view());
  CHECK(ema_loss == doctest::Approx(full * cfg.beta / (1.0 + cfg.beta)));
}
