// CUDA vs xtensor: group_norm (LlamaGen's 32 groups, eps 1e-6; a mean far from 0; one channel per group)
// forward and backward, upsample_nearest2x and pad2d forward and backward.
#include "cuda_fixture.hpp"

using namespace patchzoo;
using namespace patchzoo::test;

namespace {

void check_group_norm(const std::string& what, shape_t s, int groups, double lo, double hi, std::uint64_t seed) {
  INFO(what);
  cuda_pair be;
  const shape_t stats{s[0], groups};
  auto in = mirror_random(be.gpu, s, seed, lo, hi);
  auto weight = mirror_random(be.gpu, shape_t{s[1]}, seed + 1);
  auto bias = mirror_random(be.gpu, shape_t{s[1]}, seed + 2);
  tensor<float> out_r(s), mean_r(stats), rstd_r(stats);
  device_tensor out_g(s), mean_g(stats), rstd_g(stats);
  group_norm_forward(be.ref, out_r.view(), mean_r.view(), rstd_r.view(), in.host.cview(), weight.host.cview(),
                     bias.host.cview(), groups, 1e-6f);
  group_norm_forward(be.gpu, out_g.view(), mean_g.view(), rstd_g.view(), in.dev.cview(), weight.dev.cview(),
                     bias.dev.cview(), groups, 1e-6f);
  compare("group_norm forward", be.gpu, out_g, out_r, "group_norm");
  compare("group_norm mean", be.gpu, mean_g, mean_r, "group_norm");
  compare("group_norm rstd", be.gpu, rstd_g, rstd_r, "group_norm");
  auto dout = mirror_random(be.gpu, s, seed + 3);
  auto din = mirror_random(be.gpu, s, seed + 4);
  auto dw = mirror_random(be.gpu, shape_t{s[1]}, seed + 5);
  auto db = mirror_random(be.gpu, shape_t{s[1]}, seed + 6);
  group_norm_backward(be.ref, din.host.view(), dw.host.view(), db.host.view(), dout.host.cview(), in.host.cview(),
                      weight.host.cview(), mean_r.cview(), rstd_r.cview(), groups);
  group_norm_backward(be.gpu, din.dev.view(), dw.dev.view(), db.dev.view(), dout.dev.cview(), in.dev.cview(),
                      weight.dev.cview(), mean_g.cview(), rstd_g.cview(), groups);
  compare("group_norm din", be.gpu, din.dev, din.host, "group_norm");
  compare("group_norm dweight", be.gpu, dw.dev, dw.host, "group_norm");
  compare("group_norm dbias", be.gpu, db.dev, db.host, "group_norm");
}

}  // namespace

TEST_CASE("cuda vs xtensor: group_norm forward and backward") {
  if (!cuda_device_present()) return;
  check_group_norm("32 groups of 4 channels, eps 1e-6", shape_t{2, 128, 8, 8}, 32, -1.0, 1.0, 1);
  check_group_norm("8 groups, mean ~4", shape_t{3, 16, 7, 5}, 8, 3.0, 5.0, 10);
  check_group_norm("one channel per group", shape_t{2, 6, 4, 4}, 6, -1.0, 1.0, 20);
}

TEST_CASE("cuda vs xtensor: upsample_nearest2x and pad2d forward and backward") {
  if (!cuda_device_present()) return;
  cuda_pair be;
  const shape_t s{2, 5, 7, 6};
  auto in = mirror_random(be.gpu, s, 40);
  {
    const shape_t so{2, 5, 14, 12};
    tensor<float> out_r(so);
    device_tensor out_g(so);
    upsample_nearest2x_forward(be.ref, out_r.view(), in.host.cview());
    upsample_nearest2x_forward(be.gpu, out_g.view(), in.dev.cview());
    compare("upsample_nearest2x forward", be.gpu, out_g, out_r, "resample");
    auto dout = mirror_random(be.gpu, so, 41);
    auto din = mirror_random(be.gpu, s, 42);
    upsample_nearest2x_backward(be.ref, din.host.view(), dout.host.cview());
    upsample_nearest2x_backward(be.gpu, din.dev.view(), dout.dev.cview());
    compare("upsample_nearest2x backward", be.gpu, din.dev, din.host, "resample");
  }
  for (const pad2d_params p : {pad2d_params{0, 1, 0, 1}, pad2d_params{2, 0, 1, 3}}) {
    CAPTURE(p.top);
    const shape_t so{2, 5, 7 + p.top + p.bottom, 6 + p.left + p.right};
    tensor<float> out_r(so);
    device_tensor out_g(so);
    pad2d_forward(be.ref, out_r.view(), in.host.cview(), p);
    pad2d_forward(be.gpu, out_g.view(), in.dev.cview(), p);
    compare("pad2d forward", be.gpu, out_g, out_r, "resample");
    auto dout = mirror_random(be.gpu, so, 43);
    auto din = mirror_random(be.gpu, s, 44);
    pad2d_backward(be.ref, din.host.view(), dout.host.cview(), p);
    pad2d_backward(be.gpu, din.dev.view(), dout.dev.cview(), p);
    compare("pad2d backward", be.gpu, din.dev, din.host, "resample");
  }
}
