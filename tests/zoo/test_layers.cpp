// Layer plumbing of the sequential classifier, checked by central finite differences in double on the
// xtensor reference: each layer's backward (input, weight and bias gradients) against its forward.
#include <doctest/doctest.h>

#include "patchzoo/backend/xtensor/xtensor_backend.hpp"
#include "patchzoo/zoo/layers.hpp"
#include "support/grad_check.hpp"
#include "support/random.hpp"

using namespace patchzoo;
using namespace patchzoo::zoo;

namespace {

shape_t with_batch(std::int64_t b, const shape_t& s) {
  shape_t out{b};
  for (int d = 0; d < s.rank; ++d) out.dims[out.rank++] = s[d];
  return out;
}

// Runs forward, then backward with dout = w (the gradient of sum(out * w)), and compares every
// gradient the layer produces with finite differences of that loss.
void check_layer(const layer_spec& l, const shape_t& in_shape) {
  xtensor_backend be;
  const std::int64_t batch = 2;
  const shape_t out_shape = layer_output_shape(l, in_shape, 0);
  auto x = test::random_tensor<double>(with_batch(batch, in_shape), 11);
  tensor<double> weight, bias;
  if (layer_has_params(l)) {
    weight = test::random_tensor<double>(layer_weight_shape(l, in_shape), 12, -0.5, 0.5);
    bias = test::random_tensor<double>(shape_t{l.out}, 13, -0.5, 0.5);
  }
  const auto w = test::random_tensor<double>(with_batch(batch, out_shape), 14);
  tensor<double> out(with_batch(batch, out_shape));
  tensor<std::int32_t> argmax(l.kind == layer_kind::maxpool2d ? out.shape() : shape_t{0});
  auto loss = [&] {
    layer_forward<xtensor_backend, double>(be, l, weight.cview(), bias.cview(), x.cview(), out.view(), argmax.view());
    return test::weighted_sum(out, w);
  };
  loss();
  tensor<double> dx(x.shape()), dweight(weight.shape()), dbias(bias.shape());
  layer_backward<xtensor_backend, double>(be, l, weight.cview(), dweight.view(), dbias.view(), dx.view(), w.cview(),
                                          x.cview(), argmax.cview());
  test::check_gradient(std::string(layer_kind_name(l.kind)) + " input", x, dx, loss);
  if (layer_has_params(l)) {
    test::check_gradient(std::string(layer_kind_name(l.kind)) + " weight", weight, dweight, loss);
    test::check_gradient(std::string(layer_kind_name(l.kind)) + " bias", bias, dbias, loss);
  }
}

}  // namespace

TEST_CASE("zoo layers: every layer type's backward matches finite differences") {
  check_layer(layer_spec::linear(5), shape_t{7});
  check_layer(layer_spec::gelu(), shape_t{2, 3, 4});
  check_layer(layer_spec::flatten(), shape_t{2, 3, 4});
  check_layer(layer_spec::conv2d(3, 3, 1), shape_t{2, 6, 5});
  check_layer(layer_spec::avgpool2d(2), shape_t{2, 4, 6});
  // Max pooling is piecewise linear: random inputs keep every window's maximum well separated.
  check_layer(layer_spec::maxpool2d(2), shape_t{2, 4, 6});
}

TEST_CASE("zoo layers: backward accumulates into existing gradients") {
  xtensor_backend be;
  const auto l = layer_spec::linear(3);
  auto x = test::random_tensor<double>(shape_t{2, 4}, 1);
  auto weight = test::random_tensor<double>(shape_t{3, 4}, 2);
  auto bias = test::random_tensor<double>(shape_t{3}, 3);
  const auto dout = test::random_tensor<double>(shape_t{2, 3}, 4);
  tensor<double> dx(x.shape()), dw(weight.shape()), db(bias.shape());
  tensor<std::int32_t> none(shape_t{0});
  layer_backward<xtensor_backend, double>(be, l, weight.cview(), dw.view(), db.view(), dx.view(), dout.cview(), x.cview(),
                                          none.cview());
  const auto once = dw.clone();
  layer_backward<xtensor_backend, double>(be, l, weight.cview(), dw.view(), db.view(), dx.view(), dout.cview(), x.cview(),
                                          none.cview());
  for (std::int64_t i = 0; i < dw.numel(); ++i) CHECK(dw[i] == doctest::Approx(2 * once[i]));
}

TEST_CASE("zoo architecture: bad stacks are rejected with the layer named") {
  CHECK_THROWS_WITH_AS(sequential_shapes(sequential_spec{{layer_spec::linear(10)}}),
                       doctest::Contains("layer 0 (linear) needs flat input"), error);
  CHECK_THROWS_WITH_AS(sequential_shapes(sequential_spec{{layer_spec::flatten(), layer_spec::linear(7)}}),
                       doctest::Contains("the last layer must be linear with 10 outputs"), error);
  CHECK_THROWS_WITH_AS(architecture_from_json(nlohmann::json{{"kind", "sequential"}, {"layers", {{{"type", "conv2d"}, {"out", 4}}}}}),
                       doctest::Contains("layer 0 is missing field 'padding'"), error);
  CHECK_THROWS_WITH_AS(validate(vit_spec{5, 64, 4, 128, 2}), doctest::Contains("patch 5 does not divide 28"), error);
}
