// Eigen vs xtensor: group_norm (LlamaGen's 32 groups and eps 1e-6, a mean far from 0, one channel per
// group), upsample_nearest2x and pad2d forward and backward, and the same error messages for bad shapes.
#include <algorithm>

#include "backend_pair.hpp"

using namespace patchzoo;
using namespace patchzoo::test;

namespace {

template <class T>
double max_abs_diff(const tensor<T>& a, const tensor<T>& b) {
  double m = 0.0;
  for (std::int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::abs(static_cast<double>(a[i]) - b[i]));
  return m;
}

template <class T>
void check_group_norm(const std::string& what, shape_t s, int groups, double lo, double hi, std::uint64_t seed) {
  INFO(what);
  backend_pair be;
  const shape_t stats{s[0], groups};
  const auto in = random_tensor<T>(s, seed, lo, hi);
  const auto weight = random_tensor<T>(shape_t{s[1]}, seed + 1), bias = random_tensor<T>(shape_t{s[1]}, seed + 2);
  tensor<T> out_r(s), out_f(s), mean_r(stats), mean_f(stats), rstd_r(stats), rstd_f(stats);
  fill(be.ref, out_f.view(), T(NAN));
  group_norm_forward(be.ref, out_r.view(), mean_r.view(), rstd_r.view(), in.cview(), weight.cview(), bias.cview(),
                     groups, T(1e-6));
  group_norm_forward(be.fast, out_f.view(), mean_f.view(), rstd_f.view(), in.cview(), weight.cview(), bias.cview(),
                     groups, T(1e-6));
  compare("group_norm out", out_f, out_r, "group_norm");
  compare("group_norm mean", mean_f, mean_r, "group_norm");
  compare("group_norm rstd", rstd_f, rstd_r, "group_norm");
  const auto dout = random_tensor<T>(s, seed + 3);
  auto dx_r = random_tensor<T>(s, seed + 4), dx_f = dx_r.clone();
  auto dw_r = random_tensor<T>(shape_t{s[1]}, seed + 5), dw_f = dw_r.clone();
  auto db_r = random_tensor<T>(shape_t{s[1]}, seed + 6), db_f = db_r.clone();
  group_norm_backward(be.ref, dx_r.view(), dw_r.view(), db_r.view(), dout.cview(), in.cview(), weight.cview(),
                      mean_r.cview(), rstd_r.cview(), groups);
  group_norm_backward(be.fast, dx_f.view(), dw_f.view(), db_f.view(), dout.cview(), in.cview(), weight.cview(),
                      mean_r.cview(), rstd_r.cview(), groups);
  compare("group_norm din", dx_f, dx_r, "group_norm");
  compare("group_norm dweight", dw_f, dw_r, "group_norm");
  compare("group_norm dbias", db_f, db_r, "group_norm");
  MESSAGE(what, ": max |eigen - xtensor| out ", max_abs_diff(out_f, out_r), ", din ", max_abs_diff(dx_f, dx_r),
          ", dweight ", max_abs_diff(dw_f, dw_r), ", dbias ", max_abs_diff(db_f, db_r));
  // Empty din and dbias: dweight alone comes out the same.
  auto dw_only = random_tensor<T>(shape_t{s[1]}, seed + 5);
  group_norm_backward(be.fast, tensor_view<T>{}, dw_only.view(), tensor_view<T>{}, dout.cview(), in.cview(),
                      weight.cview(), mean_r.cview(), rstd_r.cview(), groups);
  compare("group_norm dweight alone", dw_only, dw_f, "elementwise");
}

}  // namespace

TEST_CASE_TEMPLATE("backends agree: group_norm forward and backward", T, PZ_REAL_TYPES) {
  check_group_norm<T>("32 groups of 2 channels, eps 1e-6", shape_t{2, 64, 8, 8}, 32, -1.0, 1.0, 1);
  check_group_norm<T>("8 groups, mean ~4", shape_t{3, 16, 7, 5}, 8, 3.0, 5.0, 10);
  check_group_norm<T>("one channel per group", shape_t{2, 6, 4, 4}, 6, -1.0, 1.0, 20);
  check_group_norm<T>("one group", shape_t{1, 5, 3, 3}, 1, -1.0, 1.0, 30);
}

TEST_CASE_TEMPLATE("backends agree: upsample_nearest2x and pad2d forward and backward", T, PZ_REAL_TYPES) {
  backend_pair be;
  const shape_t s{2, 5, 7, 6};
  const auto in = random_tensor<T>(s, 40);
  {
    const shape_t so{2, 5, 14, 12};
    tensor<T> r(so), f(so);
    fill(be.ref, f.view(), T(NAN));
    upsample_nearest2x_forward(be.ref, r.view(), in.cview());
    upsample_nearest2x_forward(be.fast, f.view(), in.cview());
    compare("upsample_nearest2x out", f, r, "resample");
    const auto dout = random_tensor<T>(so, 41);
    auto dr = random_tensor<T>(s, 42), df = dr.clone();
    upsample_nearest2x_backward(be.ref, dr.view(), dout.cview());
    upsample_nearest2x_backward(be.fast, df.view(), dout.cview());
    compare("upsample_nearest2x din", df, dr, "resample");
    MESSAGE("upsample_nearest2x: max |eigen - xtensor| out ", max_abs_diff(f, r), ", din ", max_abs_diff(df, dr));
  }
  for (const pad2d_params p : {pad2d_params{0, 1, 0, 1}, pad2d_params{2, 0, 1, 3}, pad2d_params{}}) {
    INFO("top " << p.top << " bottom " << p.bottom << " left " << p.left << " right " << p.right);
    const shape_t so{2, 5, 7 + p.top + p.bottom, 6 + p.left + p.right};
    tensor<T> r(so), f(so);
    fill(be.ref, f.view(), T(NAN));
    pad2d_forward(be.ref, r.view(), in.cview(), p);
    pad2d_forward(be.fast, f.view(), in.cview(), p);
    compare("pad2d out", f, r, "resample");
    const auto dout = random_tensor<T>(so, 43);
    auto dr = random_tensor<T>(s, 44), df = dr.clone();
    pad2d_backward(be.ref, dr.view(), dout.cview(), p);
    pad2d_backward(be.fast, df.view(), dout.cview(), p);
    compare("pad2d din", df, dr, "resample");
    MESSAGE("pad2d: max |eigen - xtensor| out ", max_abs_diff(f, r), ", din ", max_abs_diff(df, dr));
  }
}

TEST_CASE("backends reject bad group_norm, upsample and pad shapes with the same message") {
  backend_pair be;
  const auto x = random_tensor<float>(shape_t{2, 6, 4, 4}, 50), w6 = random_tensor<float>(shape_t{6}, 51);
  tensor<float> out(shape_t{2, 6, 4, 4}), mean(shape_t{2, 4}), rstd(shape_t{2, 4});
  expect_same_error(
      "group_norm channels not a multiple of groups",
      [&] { group_norm_forward(be.ref, out.view(), mean.view(), rstd.view(), x.cview(), w6.cview(), w6.cview(), 4, 1e-6f); },
      [&] { group_norm_forward(be.fast, out.view(), mean.view(), rstd.view(), x.cview(), w6.cview(), w6.cview(), 4, 1e-6f); });
  tensor<float> mean3(shape_t{2, 3}), rstd2(shape_t{2, 2});
  expect_same_error(
      "group_norm saved rstd of the wrong shape",
      [&] { group_norm_forward(be.ref, out.view(), mean3.view(), rstd2.view(), x.cview(), w6.cview(), w6.cview(), 3, 1e-6f); },
      [&] { group_norm_forward(be.fast, out.view(), mean3.view(), rstd2.view(), x.cview(), w6.cview(), w6.cview(), 3, 1e-6f); });
  tensor<float> up(shape_t{2, 6, 8, 7});
  expect_same_error("upsample_nearest2x output size",
                    [&] { upsample_nearest2x_forward(be.ref, up.view(), x.cview()); },
                    [&] { upsample_nearest2x_forward(be.fast, up.view(), x.cview()); });
  tensor<float> padded(shape_t{2, 6, 5, 4});
  expect_same_error("pad2d output size",
                    [&] { pad2d_forward(be.ref, padded.view(), x.cview(), pad2d_params{0, 1, 0, 1}); },
                    [&] { pad2d_forward(be.fast, padded.view(), x.cview(), pad2d_params{0, 1, 0, 1}); });
  expect_same_error("pad2d negative amount",
                    [&] { pad2d_forward(be.ref, padded.view(), x.cview(), pad2d_params{0, 1, 1, -1}); },
                    [&] { pad2d_forward(be.fast, padded.view(), x.cview(), pad2d_params{0, 1, 1, -1}); });
  tensor<float> din(shape_t{2, 6, 4, 5});
  expect_same_error("pad2d_backward din shape",
                    [&] { pad2d_backward(be.ref, din.view(), padded.cview(), pad2d_params{0, 1, 0, 1}); },
                    [&] { pad2d_backward(be.fast, din.view(), padded.cview(), pad2d_params{0, 1, 0, 1}); });
  try {
    pad2d_forward(be.ref, padded.view(), x.cview(), pad2d_params{0, 1, 0, 1});
    FAIL("accepted");
  } catch (const patchzoo::error& e) {
    MESSAGE("pad2d message: " << std::string(e.what()));
    CHECK(std::string(e.what()).find("pad2d_forward") != std::string::npos);
    CHECK(std::string(e.what()).find("output") != std::string::npos);
  }
}
