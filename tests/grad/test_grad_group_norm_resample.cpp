// Finite-difference checks of group_norm (input, weight, bias), upsample_nearest2x and pad2d (NCHW), and
// hand-computed values: group statistics, the nearest-neighbour copy, and LlamaGen's Downsample (pad
// right / bottom by 1, then a 3x3 stride-2 conv without padding).
#include <cmath>

#include "grad/grad_fixture.hpp"

using namespace patchzoo;
using namespace patchzoo::test;

TEST_CASE("grad: group_norm, 2 groups of 3 channels and one channel per group") {
  xtensor_backend be;
  for (const int groups : {2, 6}) {
    INFO("groups " << groups);
    const shape_t s{2, 6, 3, 2};
    dtensor in = random_tensor<double>(s, 51, -2.0, 3.0);
    dtensor weight = random_tensor<double>({6}, 52), bias = random_tensor<double>({6}, 53);
    dtensor out(s), mean({2, groups}), rstd({2, groups});
    const dtensor w = loss_weights(s);
    const double eps = 1e-6;
    const auto loss = [&] {
      group_norm_forward(be, out.view(), mean.view(), rstd.view(), in.cview(), weight.cview(), bias.cview(), groups,
                         eps);
      return weighted_sum(out, w);
    };
    loss();
    dtensor din = prefilled_grad(s), dweight = prefilled_grad({6}), dbias = prefilled_grad({6});
    group_norm_backward(be, din.view(), dweight.view(), dbias.view(), w.cview(), in.cview(), weight.cview(),
                        mean.cview(), rstd.cview(), groups);
    check_gradient("group_norm din", in, accumulated(din), loss);
    check_gradient("group_norm dweight", weight, accumulated(dweight), loss);
    check_gradient("group_norm dbias", bias, accumulated(dbias), loss);
  }
}

TEST_CASE("group_norm: each (sample, group) has mean 0 and variance 1 before the affine; saved statistics") {
  xtensor_backend be;
  const shape_t s{2, 4, 3, 3};
  const dtensor in = random_tensor<double>(s, 54, 1.0, 5.0);
  dtensor ones({4}), zeros({4});
  for (int c = 0; c < 4; ++c) ones[c] = 1.0, zeros[c] = 0.0;
  dtensor out(s), mean({2, 2}), rstd({2, 2});
  group_norm_forward(be, out.view(), mean.view(), rstd.view(), in.cview(), ones.cview(), zeros.cview(), 2, 0.0);
  for (int n = 0; n < 2; ++n)
    for (int g = 0; g < 2; ++g) {
      double mu_in = 0.0, mu = 0.0, var = 0.0, var_in = 0.0;
      const std::int64_t base = (n * 4 + g * 2) * 9;
      for (int i = 0; i < 18; ++i) mu_in += in[base + i] / 18, mu += out[base + i] / 18;
      for (int i = 0; i < 18; ++i) var += out[base + i] * out[base + i] / 18;
      for (int i = 0; i < 18; ++i) var_in += (in[base + i] - mu_in) * (in[base + i] - mu_in) / 18;
      CHECK(mu == doctest::Approx(0.0).epsilon(1e-12).scale(1.0));
      CHECK(var == doctest::Approx(1.0).epsilon(1e-12));
      CHECK(mean[n * 2 + g] == doctest::Approx(mu_in).epsilon(1e-12));
      CHECK(rstd[n * 2 + g] == doctest::Approx(1.0 / std::sqrt(var_in)).epsilon(1e-12));
    }
}

TEST_CASE("grad: upsample_nearest2x, and its forward copies each pixel into a 2x2 block") {
  xtensor_backend be;
  const shape_t s{2, 3, 3, 2}, so{2, 3, 6, 4};
  dtensor in = random_tensor<double>(s, 55), out(so);
  upsample_nearest2x_forward(be, out.view(), in.cview());
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 4; ++x) CHECK(out[((1 * 3 + 2) * 6 + y) * 4 + x] == in[((1 * 3 + 2) * 3 + y / 2) * 2 + x / 2]);
  const dtensor w = loss_weights(so);
  dtensor din = prefilled_grad(s);
  upsample_nearest2x_backward(be, din.view(), w.cview());
  check_gradient("upsample_nearest2x din", in, accumulated(din), [&] {
    upsample_nearest2x_forward(be, out.view(), in.cview());
    return weighted_sum(out, w);
  });
}

TEST_CASE("grad: pad2d, LlamaGen's (0, 1, 0, 1) and uneven amounts on all four sides") {
  xtensor_backend be;
  for (const pad2d_params p : {pad2d_params{0, 1, 0, 1}, pad2d_params{2, 1, 3, 0}}) {
    INFO("top " << p.top << " bottom " << p.bottom << " left " << p.left << " right " << p.right);
    const shape_t s{2, 2, 3, 4}, so{2, 2, 3 + p.top + p.bottom, 4 + p.left + p.right};
    dtensor in = random_tensor<double>(s, 56), out(so);
    const dtensor w = loss_weights(so);
    dtensor din = prefilled_grad(s);
    pad2d_backward(be, din.view(), w.cview(), p);
    check_gradient("pad2d din", in, accumulated(din), [&] {
      pad2d_forward(be, out.view(), in.cview(), p);
      return weighted_sum(out, w);
    });
    pad2d_forward(be, out.view(), in.cview(), p);  // the check left the last element nudged by -eps
    double padded_total = 0.0, in_total = 0.0;
    for (std::int64_t i = 0; i < out.numel(); ++i) padded_total += std::abs(out[i]);
    for (std::int64_t i = 0; i < in.numel(); ++i) in_total += std::abs(in[i]);
    CHECK(padded_total == doctest::Approx(in_total).epsilon(1e-12));  // the border is all zeros
    CHECK(out[(so[2] - 1 - p.bottom + 1) * so[3] - 1 - p.right] == in[s[2] * s[3] - 1]);  // last pixel of plane 0
  }
}

TEST_CASE("Downsample as LlamaGen: pad (0, 1, 0, 1) then 3x3 stride 2 conv, padding 0") {
  // torch: F.pad(x, (0, 1, 0, 1)) then Conv2d(k=3, s=2, p=0). On 4x4 the output is 2x2 and its last
  // row / column reads the padded zero.
  xtensor_backend be;
  dtensor x({1, 1, 4, 4}), weight({1, 1, 3, 3}), padded({1, 1, 5, 5}), out({1, 1, 2, 2});
  for (int i = 0; i < 16; ++i) x[i] = i + 1;
  for (int i = 0; i < 9; ++i) weight[i] = 1.0;
  pad2d_forward(be, padded.view(), x.cview(), pad2d_params{0, 1, 0, 1});
  conv2d_forward(be, out.view(), padded.cview(), weight.cview(), const_view<double>{}, conv2d_params{2, 0});
  // Window at (0, 0): rows 0..2, cols 0..2 of x. At (1, 1): rows 2..3, cols 2..3 (+ zeros).
  CHECK(out[0] == 1 + 2 + 3 + 5 + 6 + 7 + 9 + 10 + 11);
  CHECK(out[1] == 3 + 4 + 7 + 8 + 11 + 12);
  CHECK(out[2] == 9 + 10 + 11 + 13 + 14 + 15);
  CHECK(out[3] == 11 + 12 + 15 + 16);
}
