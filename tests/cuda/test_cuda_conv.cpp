// CUDA vs xtensor: conv2d and conv_transpose2d (stride, padding, bias), forward and backward; average
// and max pooling (overlapping windows too), forward and backward.
#include "cuda_fixture.hpp"

using namespace patchzoo;
using namespace patchzoo::test;

namespace {

// transposed = false: weight [Co, Ci, K, K]; true: weight [Ci, Co, K, K].
void check_conv(const std::string& what, bool transposed, shape_t in_shape, std::int64_t co, std::int64_t k,
                conv2d_params p, std::uint64_t seed) {
  INFO(what);
  cuda_pair be;
  const std::int64_t ci = in_shape[1];
  const std::int64_t ho = transposed ? contract::conv_transpose_out_size(in_shape[2], k, p)
                                     : contract::conv_out_size(in_shape[2], k, p);
  const std::int64_t wo = transposed ? contract::conv_transpose_out_size(in_shape[3], k, p)
                                     : contract::conv_out_size(in_shape[3], k, p);
  const shape_t out_shape{in_shape[0], co, ho, wo};
  const shape_t w_shape = transposed ? shape_t{ci, co, k, k} : shape_t{co, ci, k, k};
  auto in = mirror_random(be.gpu, in_shape, seed);
  auto w = mirror_random(be.gpu, w_shape, seed + 1);
  auto bias = mirror_random(be.gpu, shape_t{co}, seed + 2);
  tensor<float> out_r(out_shape);
  device_tensor out_g(out_shape);
  auto dout = mirror_random(be.gpu, out_shape, seed + 3);
  auto din = mirror_random(be.gpu, in_shape, seed + 4);
  auto dw = mirror_random(be.gpu, w_shape, seed + 5);
  auto db = mirror_random(be.gpu, shape_t{co}, seed + 6);
  if (transposed) {
    conv_transpose2d_forward(be.ref, out_r.view(), in.host.cview(), w.host.cview(), bias.host.cview(), p);
    conv_transpose2d_forward(be.gpu, out_g.view(), in.dev.cview(), w.dev.cview(), bias.dev.cview(), p);
    conv_transpose2d_backward(be.ref, din.host.view(), dw.host.view(), db.host.view(), dout.host.cview(),
                              in.host.cview(), w.host.cview(), p);
    conv_transpose2d_backward(be.gpu, din.dev.view(), dw.dev.view(), db.dev.view(), dout.dev.cview(), in.dev.cview(),
                              w.dev.cview(), p);
  } else {
    conv2d_forward(be.ref, out_r.view(), in.host.cview(), w.host.cview(), bias.host.cview(), p);
    conv2d_forward(be.gpu, out_g.view(), in.dev.cview(), w.dev.cview(), bias.dev.cview(), p);
    conv2d_backward(be.ref, din.host.view(), dw.host.view(), db.host.view(), dout.host.cview(), in.host.cview(),
                    w.host.cview(), p);
    conv2d_backward(be.gpu, din.dev.view(), dw.dev.view(), db.dev.view(), dout.dev.cview(), in.dev.cview(),
                    w.dev.cview(), p);
  }
  compare("conv forward", be.gpu, out_g, out_r, "conv");
  compare("conv din", be.gpu, din.dev, din.host, "conv");
  compare("conv dweight", be.gpu, dw.dev, dw.host, "conv");
  compare("conv dbias", be.gpu, db.dev, db.host, "conv");
}

}  // namespace

TEST_CASE("cuda vs xtensor: conv2d, stride 1 and stride 2 with padding") {
  if (!cuda_device_present()) return;
  check_conv("3x3 stride 1 pad 1", false, shape_t{2, 3, 11, 9}, 5, 3, conv2d_params{1, 1}, 1);
  check_conv("4x4 stride 2 pad 1", false, shape_t{3, 4, 12, 10}, 6, 4, conv2d_params{2, 1}, 10);
  check_conv("1x1 stride 1 pad 0", false, shape_t{1, 8, 5, 5}, 3, 1, conv2d_params{1, 0}, 20);
}

TEST_CASE("cuda vs xtensor: conv_transpose2d, stride 2 upsampling and stride 1") {
  if (!cuda_device_present()) return;
  check_conv("4x4 stride 2 pad 1", true, shape_t{2, 5, 6, 7}, 3, 4, conv2d_params{2, 1}, 30);
  check_conv("3x3 stride 1 pad 1", true, shape_t{1, 4, 8, 8}, 2, 3, conv2d_params{1, 1}, 40);
  check_conv("3x3 stride 3 pad 0", true, shape_t{2, 2, 4, 5}, 3, 3, conv2d_params{3, 0}, 50);
}

TEST_CASE("cuda vs xtensor: avgpool2d and maxpool2d, disjoint and overlapping windows") {
  if (!cuda_device_present()) return;
  cuda_pair be;
  for (const pool2d_params p : {pool2d_params{2, 2}, pool2d_params{3, 2}}) {
    CAPTURE(p.kernel);
    const shape_t in_shape{2, 3, 11, 12};
    const shape_t out_shape{2, 3, (11 - p.kernel) / p.stride + 1, (12 - p.kernel) / p.stride + 1};
    auto in = mirror_random(be.gpu, in_shape, 60 + p.kernel);
    tensor<float> out_r(out_shape);
    device_tensor out_g(out_shape);
    auto dout = mirror_random(be.gpu, out_shape, 61 + p.kernel);

    avgpool2d_forward(be.ref, out_r.view(), in.host.cview(), p);
    avgpool2d_forward(be.gpu, out_g.view(), in.dev.cview(), p);
    compare("avgpool forward", be.gpu, out_g, out_r, "pool");
    auto din = mirror_random(be.gpu, in_shape, 62 + p.kernel);
    avgpool2d_backward(be.ref, din.host.view(), dout.host.cview(), p);
    avgpool2d_backward(be.gpu, din.dev.view(), dout.dev.cview(), p);
    compare("avgpool backward", be.gpu, din.dev, din.host, "pool");

    tensor<std::int32_t> arg_r(out_shape);
    device_ints arg_g(out_shape);
    maxpool2d_forward(be.ref, out_r.view(), arg_r.view(), in.host.cview(), p);
    maxpool2d_forward(be.gpu, out_g.view(), arg_g.view(), in.dev.cview(), p);
    compare("maxpool forward", be.gpu, out_g, out_r, "pool");
    compare_exact("maxpool argmax", be.gpu, arg_g, arg_r);
    maxpool2d_backward(be.ref, din.host.view(), dout.host.cview(), arg_r.cview());
    maxpool2d_backward(be.gpu, din.dev.view(), dout.dev.cview(), arg_g.cview());
    compare("maxpool backward", be.gpu, din.dev, din.host, "pool");
  }
}
