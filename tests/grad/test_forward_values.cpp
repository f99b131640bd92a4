// Forward values of the reference ops against small hand-computed cases.
#include <cmath>

#include "grad/grad_fixture.hpp"
#include "patchzoo/ops/linear.hpp"

using namespace patchzoo;
using namespace patchzoo::test;

static_assert(full_backend<xtensor_backend, float> && full_backend<xtensor_backend, double>,
              "the reference backend implements every op family in float and double");

TEST_CASE("values: softmax rows sum to 1, known row, no overflow on large logits") {
  xtensor_backend be;
  const dtensor in({3, 3}, {1, 2, 3, 1000, 1001, 1002, -5, 0.5, 7});
  dtensor out({3, 3});
  softmax_forward(be, out.view(), in.cview());
  for (std::int64_t n = 0; n < 3; ++n) CHECK(out[3 * n] + out[3 * n + 1] + out[3 * n + 2] == doctest::Approx(1.0).epsilon(1e-15));
  const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  CHECK(out[0] == doctest::Approx(std::exp(1.0) / z).epsilon(1e-15));
  CHECK(out[2] == doctest::Approx(std::exp(3.0) / z).epsilon(1e-15));
  for (std::int64_t c = 0; c < 3; ++c) CHECK(out[3 + c] == doctest::Approx(out[c]).epsilon(1e-12));
}

TEST_CASE("values: rmsnorm and layernorm of known vectors") {
  xtensor_backend be;
  const dtensor in({1, 2}, {3, 4});
  const dtensor weight({2}, {1, 2});
  dtensor out({1, 2}), rstd({1});
  rmsnorm_forward(be, out.view(), rstd.view(), in.cview(), weight.cview(), 0.0);
  // mean(x^2) = 12.5
  CHECK(rstd[0] == doctest::Approx(1.0 / std::sqrt(12.5)).epsilon(1e-15));
  CHECK(out[0] == doctest::Approx(3.0 / std::sqrt(12.5)).epsilon(1e-15));
  CHECK(out[1] == doctest::Approx(8.0 / std::sqrt(12.5)).epsilon(1e-15));

  const dtensor x({1, 4}, {1, 2, 3, 4});
  const dtensor ones({4}, {1, 1, 1, 1}), shift({4}, {0, 0, 0, 10});
  dtensor y({1, 4}), mean({1}), r({1});
  layernorm_forward(be, y.view(), mean.view(), r.view(), x.cview(), ones.cview(), shift.cview(), 0.0);
  // mean 2.5, biased variance 1.25
  CHECK(mean[0] == 2.5);
  CHECK(r[0] == doctest::Approx(1.0 / std::sqrt(1.25)).epsilon(1e-15));
  CHECK(y[0] == doctest::Approx(-1.5 / std::sqrt(1.25)).epsilon(1e-15));
  CHECK(y[3] == doctest::Approx(1.5 / std::sqrt(1.25) + 10.0).epsilon(1e-15));
}

TEST_CASE("values: activations at known points") {
  xtensor_backend be;
  const dtensor in({4}, {0.0, 1.0, -1.0, 10.0});
  dtensor out({4});
  silu_forward(be, out.view(), in.cview());
  CHECK(out[0] == 0.0);
  CHECK(out[1] == doctest::Approx(1.0 / (1.0 + std::exp(-1.0))).epsilon(1e-15));
  CHECK(out[2] == doctest::Approx(-1.0 / (1.0 + std::exp(1.0))).epsilon(1e-15));
  gelu_forward(be, out.view(), in.cview());
  CHECK(out[0] == 0.0);
  CHECK(out[1] == doctest::Approx(0.8411919906082768).epsilon(1e-12));  // 0.5 (1 + tanh(sqrt(2/pi) 1.044715))
  CHECK(out[3] == doctest::Approx(10.0).epsilon(1e-12));
  const dtensor up({4}, {2.0, 2.0, 2.0, 2.0});
  dtensor silu_out({4});
  silu_forward(be, silu_out.view(), in.cview());
  swiglu_forward(be, out.view(), in.cview(), up.cview());
  for (std::int64_t i = 0; i < 4; ++i) CHECK(out[i] == doctest::Approx(2.0 * silu_out[i]).epsilon(1e-15));
}

TEST_CASE("values: cross_entropy of uniform logits is log V") {
  xtensor_backend be;
  const dtensor logits({2, 4}, {0.5, 0.5, 0.5, 0.5, 0, 0, 100, 0});
  const tensor<std::int32_t> targets = int_tensor({2}, {3, 2});
  dtensor losses({2}), probs({2, 4});
  CHECK(cross_entropy_forward(be, losses.view(), probs.view(), logits.cview(), targets.cview(), -1) == 2);
  CHECK(losses[0] == doctest::Approx(std::log(4.0)).epsilon(1e-15));
  CHECK(losses[1] == doctest::Approx(3.0 * std::exp(-100.0)).epsilon(1e-6));  // confident and right: ~0, not NaN
  CHECK(probs[0] == 0.25);
}

TEST_CASE("values: attention with one key returns v; two equal scores average") {
  xtensor_backend be;
  const dtensor q({1, 1, 2}, {1, 2}), k({2, 1, 2}, {3, -1, 3, -1}), v({2, 1, 2}, {5, 6, 7, 10});
  dtensor out({1, 1, 2}), lse({1, 1});
  const tensor<std::int32_t> one = int_tensor({1, 2}, {1, 2});
  attention_forward(be, out.view(), lse.view(), q.cview(), k.cview(), v.cview(), one.cview(), 0.5);
  CHECK(out[0] == doctest::Approx(7.0).epsilon(1e-15));
  CHECK(out[1] == doctest::Approx(10.0).epsilon(1e-15));
  CHECK(lse[0] == doctest::Approx(0.5 * (3.0 - 2.0)).epsilon(1e-15));
  const tensor<std::int32_t> both = int_tensor({1, 2}, {0, 2});
  attention_forward(be, out.view(), lse.view(), q.cview(), k.cview(), v.cview(), both.cview(), 0.5);
  CHECK(out[0] == doctest::Approx(6.0).epsilon(1e-15));
  CHECK(out[1] == doctest::Approx(8.0).epsilon(1e-15));
  CHECK(lse[0] == doctest::Approx(0.5 + std::log(2.0)).epsilon(1e-15));
}

TEST_CASE("values: rope by a quarter turn and by the identity") {
  xtensor_backend be;
  dtensor x({2, 1, 4}, {1, 2, 3, 4, 1, 2, 3, 4});
  const dtensor cos({2, 2}, {0, 1, 1, 1}), sin({2, 2}, {1, 0, 0, 0});
  rope_forward(be, x.view(), cos.cview(), sin.cview());
  // Token 0: first pair turned by 90 degrees, second pair unchanged; token 1: identity.
  CHECK(x.to_vector() == std::vector<double>{-2, 1, 3, 4, 1, 2, 3, 4});
  rope_backward(be, x.view(), cos.cview(), sin.cview());
  CHECK(x.to_vector() == std::vector<double>{1, 2, 3, 4, 1, 2, 3, 4});
}

TEST_CASE("values: conv2d, pools and embedding on small inputs") {
  xtensor_backend be;
  const dtensor in({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  const dtensor ones({1, 1, 2, 2}, {1, 1, 1, 1}), bias({1}, {100});
  dtensor out({1, 1, 2, 2});
  conv2d_forward(be, out.view(), in.cview(), ones.cview(), bias.cview(), conv2d_params{1, 0});
  CHECK(out.to_vector() == std::vector<double>{112, 116, 124, 128});
  dtensor padded({1, 1, 2, 2});
  conv2d_forward(be, padded.view(), in.cview(), ones.cview(), const_view<double>(), conv2d_params{2, 1});
  // Windows at (-1, -1), (-1, 1), (1, -1), (1, 1) with zero padding.
  CHECK(padded.to_vector() == std::vector<double>{1, 5, 11, 28});

  dtensor pooled({1, 1, 1, 1});
  tensor<std::int32_t> argmax({1, 1, 1, 1});
  avgpool2d_forward(be, pooled.view(), in.cview(), pool2d_params{3, 1});
  CHECK(pooled[0] == doctest::Approx(5.0).epsilon(1e-15));
  maxpool2d_forward(be, pooled.view(), argmax.view(), in.cview(), pool2d_params{3, 1});
  CHECK(pooled[0] == 9.0);
  CHECK(argmax[0] == 8);

  const dtensor table({3, 2}, {1, 2, 3, 4, 5, 6});
  const tensor<std::int32_t> ids = int_tensor({2}, {2, 0});
  dtensor rows({2, 2});
  embedding_forward(be, rows.view(), ids.cview(), table.cview());
  CHECK(rows.to_vector() == std::vector<double>{5, 6, 1, 2});
}

TEST_CASE("values: matmul alpha and beta; linear adds the bias") {
  xtensor_backend be;
  const dtensor a({1, 2}, {1, 2}), b({2, 1}, {3, 4});
  dtensor c({1, 1}, {10});
  matmul(be, c.view(), a.cview(), b.cview(), false, false, 2.0, 0.5);
  CHECK(c[0] == 2.0 * 11.0 + 5.0);
  const dtensor weight({2, 2}, {1, 0, 0, 1}), lbias({2}, {0.5, -0.5});
  dtensor out({1, 2});
  linear_forward(be, out.view(), a.cview(), weight.cview(), lbias.cview());
  CHECK(out.to_vector() == std::vector<double>{1.5, 1.5});
}
