// CUDA vs xtensor: element-wise ops, reductions, cuBLAS matmul (every transpose, batched, shared b,
// alpha/beta) and the bias pair.
#include "cuda_fixture.hpp"

using namespace patchzoo;
using namespace patchzoo::test;

TEST_CASE("cuda vs xtensor: fill, copy, add (aliased too), accumulate, scale") {
  if (!cuda_device_present()) return;
  cuda_pair be;
  const shape_t s{37, 129};
  auto a = mirror_random(be.gpu, s, 1);
  auto b = mirror_random(be.gpu, s, 2);
  tensor<float> out_r(s);
  device_tensor out_g(s);

  fill(be.ref, out_r.view(), 2.5f);
  fill(be.gpu, out_g.view(), 2.5f);
  compare("fill", be.gpu, out_g, out_r, "elementwise");

  copy(be.ref, out_r.view(), a.host.cview());
  copy(be.gpu, out_g.view(), a.dev.cview());
  compare("copy", be.gpu, out_g, out_r, "elementwise");

  add(be.ref, out_r.view(), a.host.cview(), b.host.cview());
  add(be.gpu, out_g.view(), a.dev.cview(), b.dev.cview());
  compare("add", be.gpu, out_g, out_r, "elementwise");

  add(be.ref, out_r.view(), out_r.cview(), b.host.cview());
  add(be.gpu, out_g.view(), out_g.cview(), b.dev.cview());
  compare("add with out aliasing a", be.gpu, out_g, out_r, "elementwise");

  accumulate(be.ref, out_r.view(), a.host.cview(), -0.75f);
  accumulate(be.gpu, out_g.view(), a.dev.cview(), -0.75f);
  compare("accumulate", be.gpu, out_g, out_r, "elementwise");

  scale(be.ref, out_r.view(), 3.0f);
  scale(be.gpu, out_g.view(), 3.0f);
  compare("scale", be.gpu, out_g, out_r, "elementwise");
}

TEST_CASE("cuda vs xtensor: sum and sum_squares, small and larger than one reduction pass") {
  if (!cuda_device_present()) return;
  cuda_pair be;
  const tolerance tol = f32_tolerance("reduction");
  for (const std::int64_t n : {std::int64_t{1}, std::int64_t{1000}, std::int64_t{3'000'001}}) {
    CAPTURE(n);
    auto x = mirror_random(be.gpu, shape_t{n}, 3 + n);
    const double s_r = sum(be.ref, x.host.cview()), q_r = sum_squares(be.ref, x.host.cview());
    const double s_g = sum(be.gpu, x.dev.cview()), q_g = sum_squares(be.gpu, x.dev.cview());
    CHECK(std::abs(s_g - s_r) <= tol.abs + tol.rel * std::abs(s_r));
    CHECK(std::abs(q_g - q_r) <= tol.abs + tol.rel * std::abs(q_r));
  }
}

TEST_CASE("cuda vs xtensor: matmul, every transpose combination, alpha and beta") {
  if (!cuda_device_present()) return;
  cuda_pair be;
  const std::int64_t m = 33, n = 47, k = 65;
  for (const bool ta : {false, true})
    for (const bool tb : {false, true}) {
      CAPTURE(ta);
      CAPTURE(tb);
      auto a = mirror_random(be.gpu, ta ? shape_t{k, m} : shape_t{m, k}, 10);
      auto b = mirror_random(be.gpu, tb ? shape_t{n, k} : shape_t{k, n}, 11);
      auto c = mirror_random(be.gpu, shape_t{m, n}, 12);
      matmul(be.ref, c.host.view(), a.host.cview(), b.host.cview(), ta, tb, 0.5f, 0.25f);
      matmul(be.gpu, c.dev.view(), a.dev.cview(), b.dev.cview(), ta, tb, 0.5f, 0.25f);
      compare("matmul alpha 0.5 beta 0.25", be.gpu, c.dev, c.host, "matmul");
      matmul(be.ref, c.host.view(), a.host.cview(), b.host.cview(), ta, tb);
      matmul(be.gpu, c.dev.view(), a.dev.cview(), b.dev.cview(), ta, tb);
      compare("matmul beta 0", be.gpu, c.dev, c.host, "matmul");
    }
}

TEST_CASE("cuda vs xtensor: batched matmul, with b batched and with b shared") {
  if (!cuda_device_present()) return;
  cuda_pair be;
  const std::int64_t batch = 3, m = 17, n = 9, k = 31;
  auto a = mirror_random(be.gpu, shape_t{batch, m, k}, 20);
  auto b3 = mirror_random(be.gpu, shape_t{batch, n, k}, 21);
  auto b2 = mirror_random(be.gpu, shape_t{k, n}, 22);
  tensor<float> c_r(shape_t{batch, m, n});
  device_tensor c_g(shape_t{batch, m, n});
  matmul(be.ref, c_r.view(), a.host.cview(), b3.host.cview(), false, true);
  matmul(be.gpu, c_g.view(), a.dev.cview(), b3.dev.cview(), false, true);
  compare("batched matmul, b transposed", be.gpu, c_g, c_r, "matmul");
  matmul(be.ref, c_r.view(), a.host.cview(), b2.host.cview(), false, false);
  matmul(be.gpu, c_g.view(), a.dev.cview(), b2.dev.cview(), false, false);
  compare("batched matmul, shared b", be.gpu, c_g, c_r, "matmul");
}

TEST_CASE("cuda vs xtensor: matmul ignores NaN in c when beta is 0") {
  if (!cuda_device_present()) return;
  cuda_pair be;
  auto a = mirror_random(be.gpu, shape_t{4, 5}, 30);
  auto b = mirror_random(be.gpu, shape_t{5, 6}, 31);
  tensor<float> c_r(shape_t{4, 6});
  device_tensor c_g(shape_t{4, 6});
  fill(be.gpu, c_g.view(), std::numeric_limits<float>::quiet_NaN());
  matmul(be.ref, c_r.view(), a.host.cview(), b.host.cview(), false, false);
  matmul(be.gpu, c_g.view(), a.dev.cview(), b.dev.cview(), false, false);
  compare("matmul over NaN", be.gpu, c_g, c_r, "matmul");
}

TEST_CASE("cuda vs xtensor: add_bias and bias_backward (accumulating)") {
  if (!cuda_device_present()) return;
  cuda_pair be;
  auto x = mirror_random(be.gpu, shape_t{2, 50, 70}, 40);
  auto bias = mirror_random(be.gpu, shape_t{70}, 41);
  add_bias(be.ref, x.host.view(), bias.host.cview());
  add_bias(be.gpu, x.dev.view(), bias.dev.cview());
  compare("add_bias", be.gpu, x.dev, x.host, "bias");
  auto dbias = mirror_random(be.gpu, shape_t{70}, 42);
  bias_backward(be.ref, dbias.host.view(), x.host.cview());
  bias_backward(be.gpu, dbias.dev.view(), x.dev.cview());
  compare("bias_backward", be.gpu, dbias.dev, dbias.host, "bias");
  bias_backward(be.gpu, tensor_view<float>{}, x.dev.cview());  // not needed: skipped
}

TEST_CASE("cuda vs xtensor: the same shape errors") {
  if (!cuda_device_present()) return;
  cuda_pair be;
  auto a = mirror_random(be.gpu, shape_t{4, 5}, 50);
  tensor<float> c_r(shape_t{4, 4});
  device_tensor c_g(shape_t{4, 4});
  expect_same_error(
      "matmul inner dimensions", [&] { matmul(be.ref, c_r.view(), a.host.cview(), a.host.cview(), false, false); },
      [&] { matmul(be.gpu, c_g.view(), a.dev.cview(), a.dev.cview(), false, false); });
  expect_same_error(
      "copy element counts", [&] { copy(be.ref, c_r.view(), a.host.cview()); },
      [&] { copy(be.gpu, c_g.view(), a.dev.cview()); });
}
