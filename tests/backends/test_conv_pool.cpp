// Eigen vs xtensor: conv2d and conv_transpose2d (im2col + GEMM against the reference tap loop) with
// stride 2 / padding 1, 1x1 kernels and images large enough for several bands of output rows, and average /
// max pooling with disjoint and overlapping windows.
#include "backend_pair.hpp"

using namespace patchzoo;
using namespace patchzoo::test;

namespace {

template <class T>
void check_conv(const std::string& what, bool transposed, shape_t in_shape, shape_t w_shape, conv2d_params p,
                bool with_bias, std::uint64_t seed) {
  INFO(what);
  backend_pair be;
  const std::int64_t co = transposed ? w_shape[1] : w_shape[0];
  const auto out_size = [&](std::int64_t n, std::int64_t k) {
    return transposed ? contract::conv_transpose_out_size(n, k, p) : contract::conv_out_size(n, k, p);
  };
  const shape_t out_shape{in_shape[0], co, out_size(in_shape[2], w_shape[2]), out_size(in_shape[3], w_shape[3])};
  const auto in = random_tensor<T>(in_shape, seed), w = random_tensor<T>(w_shape, seed + 1);
  const auto bias = with_bias ? random_tensor<T>(shape_t{co}, seed + 2) : tensor<T>{};
  tensor<T> r(out_shape), f(out_shape);
  fill(be.ref, f.view(), T(NAN));  // the forward pass overwrites its output
  if (transposed) {
    conv_transpose2d_forward(be.ref, r.view(), in.cview(), w.cview(), bias.cview(), p);
    conv_transpose2d_forward(be.fast, f.view(), in.cview(), w.cview(), bias.cview(), p);
  } else {
    conv2d_forward(be.ref, r.view(), in.cview(), w.cview(), bias.cview(), p);
    conv2d_forward(be.fast, f.view(), in.cview(), w.cview(), bias.cview(), p);
  }
  compare("conv out", f, r, "conv");
  const auto dout = random_tensor<T>(out_shape, seed + 3);
  auto dx_r = random_tensor<T>(in_shape, seed + 4), dx_f = dx_r.clone();
  auto dw_r = random_tensor<T>(w_shape, seed + 5), dw_f = dw_r.clone();
  auto db_r = random_tensor<T>(shape_t{co}, seed + 6), db_f = db_r.clone();
  const tensor_view<T> db_rv = with_bias ? db_r.view() : tensor_view<T>{};
  const tensor_view<T> db_fv = with_bias ? db_f.view() : tensor_view<T>{};
  if (transposed) {
    conv_transpose2d_backward(be.ref, dx_r.view(), dw_r.view(), db_rv, dout.cview(), in.cview(), w.cview(), p);
    conv_transpose2d_backward(be.fast, dx_f.view(), dw_f.view(), db_fv, dout.cview(), in.cview(), w.cview(), p);
  } else {
    conv2d_backward(be.ref, dx_r.view(), dw_r.view(), db_rv, dout.cview(), in.cview(), w.cview(), p);
    conv2d_backward(be.fast, dx_f.view(), dw_f.view(), db_fv, dout.cview(), in.cview(), w.cview(), p);
  }
  compare("conv din", dx_f, dx_r, "conv");
  compare("conv dweight", dw_f, dw_r, "conv");
  compare("conv dbias", db_f, db_r, "conv");
}

}  // namespace

TEST_CASE_TEMPLATE("backends agree: conv2d forward and backward", T, PZ_REAL_TYPES) {
  check_conv<T>("3x3 stride 2 padding 1", false, shape_t{2, 5, 17, 14}, shape_t{8, 5, 3, 3}, {2, 1}, true, 1);
  check_conv<T>("3x3 stride 1 padding 1, no bias", false, shape_t{2, 4, 12, 12}, shape_t{6, 4, 3, 3}, {1, 1}, false, 10);
  check_conv<T>("4x2 stride 2 padding 0", false, shape_t{1, 3, 16, 16}, shape_t{5, 3, 4, 2}, {2, 0}, true, 20);
  check_conv<T>("1x1", false, shape_t{3, 16, 8, 8}, shape_t{12, 16, 1, 1}, {1, 0}, true, 30);
  check_conv<T>("5x3 stride 1 padding 0", false, shape_t{1, 3, 11, 9}, shape_t{2, 3, 5, 3}, {1, 0}, true, 31);
  // Columns of ~300 KB per output row: the eigen forward pass runs several bands of rows, the last one short.
  check_conv<T>("3x3 stride 1 padding 2, several bands", false, shape_t{2, 64, 40, 130}, shape_t{4, 64, 3, 3}, {1, 2},
                true, 32);
}

TEST_CASE_TEMPLATE("backends agree: conv_transpose2d forward and backward", T, PZ_REAL_TYPES) {
  check_conv<T>("3x3 stride 2 padding 1", true, shape_t{2, 6, 9, 7}, shape_t{6, 4, 3, 3}, {2, 1}, true, 40);
  check_conv<T>("4x4 stride 2 padding 1, no bias", true, shape_t{2, 3, 8, 8}, shape_t{3, 5, 4, 4}, {2, 1}, false, 50);
  check_conv<T>("1x1", true, shape_t{2, 8, 6, 6}, shape_t{8, 4, 1, 1}, {1, 0}, true, 60);
}

TEST_CASE_TEMPLATE("backends agree: avgpool2d and maxpool2d forward and backward", T, PZ_REAL_TYPES) {
  backend_pair be;
  const shape_t in_shape{4, 16, 33, 30};
  const auto in = random_tensor<T>(in_shape, 70);
  for (const pool2d_params p : {pool2d_params{2, 2}, pool2d_params{3, 2}}) {
    INFO("kernel " << p.kernel << " stride " << p.stride);
    const shape_t out_shape{4, 16, (33 - p.kernel) / p.stride + 1, (30 - p.kernel) / p.stride + 1};
    tensor<T> r(out_shape), f(out_shape);
    avgpool2d_forward(be.ref, r.view(), in.cview(), p);
    avgpool2d_forward(be.fast, f.view(), in.cview(), p);
    compare("avgpool2d out", f, r, "pool");
    const auto dout = random_tensor<T>(out_shape, 71);
    auto dr = random_tensor<T>(in_shape, 72), df = dr.clone();
    avgpool2d_backward(be.ref, dr.view(), dout.cview(), p);
    avgpool2d_backward(be.fast, df.view(), dout.cview(), p);
    compare("avgpool2d din", df, dr, "pool");

    tensor<std::int32_t> ar(out_shape), af(out_shape);
    maxpool2d_forward(be.ref, r.view(), ar.view(), in.cview(), p);
    maxpool2d_forward(be.fast, f.view(), af.view(), in.cview(), p);
    compare("maxpool2d out", f, r, "pool");
    CHECK(af.to_vector() == ar.to_vector());
    maxpool2d_backward(be.ref, dr.view(), dout.cview(), ar.cview());
    maxpool2d_backward(be.fast, df.view(), dout.cview(), ar.cview());
    compare("maxpool2d din", df, dr, "pool");
  }
}
