// Segment max-pooling (with an empty segment), dropout (fixed seed: the gradient is the mask) and one
// AdamW step against a hand computation.
#include <cmath>

#include "grad/grad_fixture.hpp"

using namespace patchzoo;
using namespace patchzoo::test;

TEST_CASE("grad: segment_maxpool with an empty segment") {
  xtensor_backend be;
  dtensor in = random_tensor<double>({6, 3}, 51);
  const tensor<std::int32_t> offsets = int_tensor({4}, {0, 2, 2, 6});
  dtensor out({3, 3});
  tensor<std::int32_t> argmax({3, 3});
  const dtensor w = loss_weights(out.shape());
  const auto loss = [&] {
    segment_maxpool_forward(be, out.view(), argmax.view(), in.cview(), offsets.cview());
    return weighted_sum(out, w);
  };
  loss();
  for (std::int64_t d = 0; d < 3; ++d) {
    CHECK(out[3 + d] == 0.0);
    CHECK(argmax[3 + d] == -1);
    CHECK(out[d] == std::max(in[d], in[3 + d]));
    CHECK(argmax[6 + d] >= 2);
  }
  dtensor din = prefilled_grad(in.shape());
  segment_maxpool_backward(be, din.view(), w.cview(), argmax.cview());
  check_gradient("segment_maxpool din", in, accumulated(din), loss);
}

TEST_CASE("grad: dropout with a fixed seed; the gradient is the mask") {
  xtensor_backend be;
  constexpr float p = 0.3f;
  constexpr std::uint64_t seed = 1234;
  dtensor in = random_tensor<double>({4, 5}, 52);
  dtensor out(in.shape());
  const dtensor w = loss_weights(out.shape());
  dtensor din = prefilled_grad(in.shape());
  dropout_backward(be, din.view(), w.cview(), p, seed);
  check_gradient("dropout din", in, accumulated(din), [&] {
    dropout_forward(be, out.view(), in.cview(), p, seed);
    return weighted_sum(out, w);
  });
  dropout_forward(be, out.view(), in.cview(), p, seed);
  int kept = 0;
  const dtensor grad = accumulated(din);
  for (std::int64_t i = 0; i < in.numel(); ++i) {
    const bool keep = uniform01_packed(seed, static_cast<std::uint64_t>(i)) >= p;
    kept += keep;
    CHECK(grad[i] == doctest::Approx(keep ? w[i] / (1.0 - p) : 0.0).epsilon(1e-12));
    CHECK(out[i] == doctest::Approx(keep ? in[i] / (1.0 - p) : 0.0).epsilon(1e-12));
  }
  CHECK(kept > 0);
  CHECK(kept < in.numel());
}

TEST_CASE("dropout with p = 0 is the identity") {
  xtensor_backend be;
  const dtensor in = random_tensor<double>({3, 4}, 53);
  dtensor out(in.shape());
  dropout_forward(be, out.view(), in.cview(), 0.0f, 7);
  check_close("dropout p=0", out, in, {0.0, 0.0});
}

TEST_CASE("adamw: two steps against a hand computation") {
  xtensor_backend be;
  adamw_params h;
  h.lr = 0.01;
  h.beta1 = 0.9;
  h.beta2 = 0.95;
  h.eps = 1e-8;
  h.weight_decay = 0.1;
  dtensor param = random_tensor<double>({2, 3}, 54), m = random_tensor<double>({2, 3}, 55);
  dtensor v = random_tensor<double>({2, 3}, 56, 0.0, 0.5);
  dtensor want_p = param.clone(), want_m = m.clone(), want_v = v.clone();
  for (std::int64_t step = 3; step <= 4; ++step) {
    const dtensor grad = random_tensor<double>({2, 3}, 57 + static_cast<std::uint64_t>(step));
    for (std::int64_t i = 0; i < param.numel(); ++i) {
      want_m[i] = 0.9 * want_m[i] + 0.1 * grad[i];
      want_v[i] = 0.95 * want_v[i] + 0.05 * grad[i] * grad[i];
      const double m_hat = want_m[i] / (1.0 - std::pow(0.9, step));
      const double v_hat = want_v[i] / (1.0 - std::pow(0.95, step));
      want_p[i] -= 0.01 * (0.1 * want_p[i] + m_hat / (std::sqrt(v_hat) + 1e-8));
    }
    adamw_step(be, param.view(), grad.cview(), m.view(), v.view(), h, step);
    check_close("adamw param", param, want_p, {1e-15, 1e-13});
    check_close("adamw m", m, want_m, {1e-15, 1e-13});
    check_close("adamw v", v, want_v, {1e-15, 1e-13});
  }
}

TEST_CASE("adamw in float matches the double computation") {
  xtensor_backend be;
  adamw_params h;
  h.weight_decay = 0.01;
  tensor<float> param(shape_t{3}, {0.5f, -1.0f, 2.0f}), grad(shape_t{3}, {0.1f, -0.2f, 0.0f});
  tensor<float> m(shape_t{3}), v(shape_t{3});
  adamw_step(be, param.view(), grad.cview(), m.view(), v.view(), h, 1);
  // Step 1 from zero moments: m_hat = g, v_hat = g^2, so the update is lr (wd p + sign(g)) (0 where g = 0).
  CHECK(param[0] == doctest::Approx(0.5 - 1e-3 * (0.01 * 0.5 + 1.0)).epsilon(1e-6));
  CHECK(param[1] == doctest::Approx(-1.0 - 1e-3 * (0.01 * -1.0 - 1.0)).epsilon(1e-6));
  CHECK(param[2] == doctest::Approx(2.0 - 1e-3 * (0.01 * 2.0)).epsilon(1e-6));
}
