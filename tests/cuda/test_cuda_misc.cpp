// CUDA vs xtensor: segment max-pooling (empty segments too), dropout (the very same mask) and AdamW.
#include "cuda_fixture.hpp"

using namespace patchzoo;
using namespace patchzoo::test;

TEST_CASE("cuda vs xtensor: segment_maxpool forward and backward, with an empty segment; bad offsets") {
  if (!cuda_device_present()) return;
  cuda_pair be;
  const std::int64_t t = 50, d = 12;
  const auto offsets_h = int_tensor(shape_t{6}, {0, 7, 7, 20, 49, 50});
  const auto offsets_g = upload(be.gpu, offsets_h);
  auto in = mirror_random(be.gpu, shape_t{t, d}, 1);
  tensor<float> out_r(shape_t{5, d});
  device_tensor out_g(shape_t{5, d});
  tensor<std::int32_t> arg_r(shape_t{5, d});
  device_ints arg_g(shape_t{5, d});
  segment_maxpool_forward(be.ref, out_r.view(), arg_r.view(), in.host.cview(), offsets_h.cview());
  segment_maxpool_forward(be.gpu, out_g.view(), arg_g.view(), in.dev.cview(), offsets_g.cview());
  compare("segment_maxpool out", be.gpu, out_g, out_r, "segment_maxpool");
  compare_exact("segment_maxpool argmax", be.gpu, arg_g, arg_r);
  CHECK(arg_r[d] == -1);  // segment 1 is empty

  auto dout = mirror_random(be.gpu, shape_t{5, d}, 2);
  auto din = mirror_random(be.gpu, shape_t{t, d}, 3);
  segment_maxpool_backward(be.ref, din.host.view(), dout.host.cview(), arg_r.cview());
  segment_maxpool_backward(be.gpu, din.dev.view(), dout.dev.cview(), arg_g.cview());
  compare("segment_maxpool din", be.gpu, din.dev, din.host, "segment_maxpool");

  const auto bad_h = int_tensor(shape_t{3}, {0, 30, 20});
  const auto bad_g = upload(be.gpu, bad_h);
  tensor<float> out2_r(shape_t{2, d});
  device_tensor out2_g(shape_t{2, d});
  tensor<std::int32_t> arg2_r(shape_t{2, d});
  device_ints arg2_g(shape_t{2, d});
  expect_same_error(
      "decreasing offsets",
      [&] { segment_maxpool_forward(be.ref, out2_r.view(), arg2_r.view(), in.host.cview(), bad_h.cview()); },
      [&] { segment_maxpool_forward(be.gpu, out2_g.view(), arg2_g.view(), in.dev.cview(), bad_g.cview()); });
}

TEST_CASE("cuda vs xtensor: dropout keeps exactly the same elements") {
  if (!cuda_device_present()) return;
  cuda_pair be;
  const shape_t s{64, 333};
  const float p = 0.3f;
  const std::uint64_t seed = 0xC0FFEE;
  auto in = mirror_random(be.gpu, s, 10, 0.5, 1.5);  // never 0, so a zero output means "dropped"
  tensor<float> out_r(s);
  device_tensor out_g(s);
  dropout_forward(be.ref, out_r.view(), in.host.cview(), p, seed);
  dropout_forward(be.gpu, out_g.view(), in.dev.cview(), p, seed);
  compare("dropout forward", be.gpu, out_g, out_r, "dropout");
  const auto got = download(be.gpu, out_g);
  std::int64_t mask_differences = 0, dropped = 0;
  for (std::int64_t i = 0; i < got.numel(); ++i) {
    mask_differences += (got[i] == 0.0f) != (out_r[i] == 0.0f);
    dropped += out_r[i] == 0.0f;
  }
  CHECK(mask_differences == 0);
  CHECK(dropped > got.numel() / 5);
  CHECK(dropped < got.numel() * 2 / 5);

  auto dout = mirror_random(be.gpu, s, 11);
  auto din = mirror_random(be.gpu, s, 12);
  dropout_backward(be.ref, din.host.view(), dout.host.cview(), p, seed);
  dropout_backward(be.gpu, din.dev.view(), dout.dev.cview(), p, seed);
  compare("dropout backward", be.gpu, din.dev, din.host, "dropout");
}

TEST_CASE("cuda vs xtensor: adamw over several steps, with weight decay") {
  if (!cuda_device_present()) return;
  cuda_pair be;
  const shape_t s{70, 31};
  auto param = mirror_random(be.gpu, s, 20);
  tensor<float> m_r(s), v_r(s);
  device_tensor m_g(s), v_g(s);
  const adamw_params h{1e-2, 0.9, 0.95, 1e-8, 0.1};
  for (std::int64_t step = 1; step <= 3; ++step) {
    CAPTURE(step);
    auto grad = mirror_random(be.gpu, s, 20 + static_cast<std::uint64_t>(step));
    adamw_step(be.ref, param.host.view(), grad.host.cview(), m_r.view(), v_r.view(), h, step);
    adamw_step(be.gpu, param.dev.view(), grad.dev.cview(), m_g.view(), v_g.view(), h, step);
    compare("adamw param", be.gpu, param.dev, param.host, "adamw");
    compare("adamw m", be.gpu, m_g, m_r, "adamw");
    compare("adamw v", be.gpu, v_g, v_r, "adamw");
  }
}
