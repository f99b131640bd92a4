// Finite-difference checks of conv2d, conv_transpose2d and the 2-D pools (NCHW).
#include "grad/grad_fixture.hpp"

using namespace patchzoo;
using namespace patchzoo::test;

namespace {

// forward(out, in, weight, bias) and backward(din, dweight, dbias, dout, in, weight) of one conv flavour.
template <class Forward, class Backward>
void check_conv_grads(const char* what, shape_t in_shape, shape_t weight_shape, shape_t out_shape, Forward forward,
                      Backward backward) {
  INFO(what);
  dtensor in = random_tensor<double>(in_shape, 41), weight = random_tensor<double>(weight_shape, 42);
  dtensor bias = random_tensor<double>({out_shape[1]}, 43);
  dtensor out(out_shape);
  const dtensor w = loss_weights(out_shape);
  const auto loss = [&] {
    forward(out.view(), in.cview(), weight.cview(), bias.cview());
    return weighted_sum(out, w);
  };
  dtensor din = prefilled_grad(in_shape), dweight = prefilled_grad(weight_shape), dbias = prefilled_grad(bias.shape());
  backward(din.view(), dweight.view(), dbias.view(), w.cview(), in.cview(), weight.cview());
  check_gradient("din", in, accumulated(din), loss);
  check_gradient("dweight", weight, accumulated(dweight), loss);
  check_gradient("dbias", bias, accumulated(dbias), loss);
}

}  // namespace

TEST_CASE("grad: conv2d, stride 2 padding 1 and stride 1 padding 0") {
  xtensor_backend be;
  for (conv2d_params p : {conv2d_params{2, 1}, conv2d_params{1, 0}}) {
    // Both give a 3x3 output from 5x5: (5 + 2 - 3) / 2 + 1 and (5 - 3) / 1 + 1.
    check_conv_grads(
        p.stride == 2 ? "conv2d s2 p1" : "conv2d s1 p0", {2, 3, 5, 5}, {4, 3, 3, 3}, {2, 4, 3, 3},
        [&](auto out, auto in, auto weight, auto bias) { conv2d_forward(be, out, in, weight, bias, p); },
        [&](auto din, auto dweight, auto dbias, auto dout, auto in, auto weight) {
          conv2d_backward(be, din, dweight, dbias, dout, in, weight, p);
        });
  }
}

TEST_CASE("grad: conv_transpose2d, stride 2 padding 1") {
  xtensor_backend be;
  const conv2d_params p{2, 1};
  // Ho = (3 - 1) * 2 - 2 * 1 + 3 = 5.
  check_conv_grads(
      "conv_transpose2d s2 p1", {2, 3, 3, 3}, {3, 2, 3, 3}, {2, 2, 5, 5},
      [&](auto out, auto in, auto weight, auto bias) { conv_transpose2d_forward(be, out, in, weight, bias, p); },
      [&](auto din, auto dweight, auto dbias, auto dout, auto in, auto weight) {
        conv_transpose2d_backward(be, din, dweight, dbias, dout, in, weight, p);
      });
}

TEST_CASE("conv_transpose2d is the adjoint of conv2d: <conv(x), y> == <x, conv_t(y)>") {
  xtensor_backend be;
  const conv2d_params p{2, 1};
  const dtensor x = random_tensor<double>({1, 3, 5, 5}, 44), weight = random_tensor<double>({4, 3, 3, 3}, 45);
  const dtensor y = random_tensor<double>({1, 4, 3, 3}, 46);
  dtensor conv_x({1, 4, 3, 3}), conv_t_y({1, 3, 5, 5});
  conv2d_forward(be, conv_x.view(), x.cview(), weight.cview(), const_view<double>(), p);
  conv_transpose2d_forward(be, conv_t_y.view(), y.cview(), weight.cview(), const_view<double>(), p);
  CHECK(weighted_sum(conv_x, y) == doctest::Approx(weighted_sum(x, conv_t_y)).epsilon(1e-12));
}

TEST_CASE("grad: avgpool2d, disjoint and overlapping windows") {
  xtensor_backend be;
  for (pool2d_params p : {pool2d_params{2, 2}, pool2d_params{3, 2}}) {
    INFO("kernel " << p.kernel << " stride " << p.stride);
    dtensor in = random_tensor<double>({2, 2, 5, 5}, 47);
    dtensor out({2, 2, 2, 2});
    const dtensor w = loss_weights(out.shape());
    dtensor din = prefilled_grad(in.shape());
    avgpool2d_backward(be, din.view(), w.cview(), p);
    check_gradient("avgpool2d din", in, accumulated(din), [&] {
      avgpool2d_forward(be, out.view(), in.cview(), p);
      return weighted_sum(out, w);
    });
  }
}

TEST_CASE("grad: maxpool2d, disjoint and overlapping windows") {
  xtensor_backend be;
  for (pool2d_params p : {pool2d_params{2, 2}, pool2d_params{3, 2}}) {
    INFO("kernel " << p.kernel << " stride " << p.stride);
    dtensor in = random_tensor<double>({2, 2, 5, 5}, 48);
    dtensor out({2, 2, 2, 2});
    tensor<std::int32_t> argmax({2, 2, 2, 2});
    const dtensor w = loss_weights(out.shape());
    const auto loss = [&] {
      maxpool2d_forward(be, out.view(), argmax.view(), in.cview(), p);
      return weighted_sum(out, w);
    };
    loss();
    for (std::int64_t i = 0; i < out.numel(); ++i) CHECK(out[i] == in[argmax[i]]);
    dtensor din = prefilled_grad(in.shape());
    maxpool2d_backward(be, din.view(), w.cview(), argmax.cview());
    check_gradient("maxpool2d din", in, accumulated(din), loss);
  }
}
