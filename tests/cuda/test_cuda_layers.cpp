// CUDA vs xtensor: embedding, RMSNorm, LayerNorm, activations, softmax and cross-entropy, forward and
// backward. Gradient buffers start from random values, so the += accumulation is compared too.
#include "cuda_fixture.hpp"

using namespace patchzoo;
using namespace patchzoo::test;

TEST_CASE("cuda vs xtensor: embedding forward and backward (repeated ids), bad id") {
  if (!cuda_device_present()) return;
  cuda_pair be;
  const std::int64_t n = 300, vocab = 50, d = 24;
  const auto ids_h = random_ids(shape_t{n}, vocab, 1);
  const auto ids_g = upload(be.gpu, ids_h);
  auto table = mirror_random(be.gpu, shape_t{vocab, d}, 2);
  tensor<float> out_r(shape_t{n, d});
  device_tensor out_g(shape_t{n, d});
  embedding_forward(be.ref, out_r.view(), ids_h.cview(), table.host.cview());
  embedding_forward(be.gpu, out_g.view(), ids_g.cview(), table.dev.cview());
  compare("embedding forward", be.gpu, out_g, out_r, "embedding");

  auto dout = mirror_random(be.gpu, shape_t{n, d}, 3);
  auto dtable = mirror_random(be.gpu, shape_t{vocab, d}, 4);
  embedding_backward(be.ref, dtable.host.view(), dout.host.cview(), ids_h.cview());
  embedding_backward(be.gpu, dtable.dev.view(), dout.dev.cview(), ids_g.cview());
  // Atomic scatter order differs from the reference's sequential sum: row sums get the wider tolerance.
  compare("embedding backward", be.gpu, dtable.dev, dtable.host, "reduction");

  const auto bad_h = int_tensor(shape_t{n}, std::vector<std::int32_t>(n, 3));
  auto bad_values = bad_h.clone();
  bad_values[17] = static_cast<std::int32_t>(vocab);
  const auto bad_g = upload(be.gpu, bad_values);
  expect_same_error(
      "embedding id out of range",
      [&] { embedding_forward(be.ref, out_r.view(), bad_values.cview(), table.host.cview()); },
      [&] { embedding_forward(be.gpu, out_g.view(), bad_g.cview(), table.dev.cview()); });
}

TEST_CASE("cuda vs xtensor: rmsnorm forward and backward") {
  if (!cuda_device_present()) return;
  cuda_pair be;
  const std::int64_t n = 19, d = 300;
  auto in = mirror_random(be.gpu, shape_t{n, d}, 10, -2.0, 2.0);
  auto w = mirror_random(be.gpu, shape_t{d}, 11, 0.5, 1.5);
  tensor<float> out_r(shape_t{n, d}), rstd_r(shape_t{n});
  device_tensor out_g(shape_t{n, d}), rstd_g(shape_t{n});
  rmsnorm_forward(be.ref, out_r.view(), rstd_r.view(), in.host.cview(), w.host.cview(), 1e-5f);
  rmsnorm_forward(be.gpu, out_g.view(), rstd_g.view(), in.dev.cview(), w.dev.cview(), 1e-5f);
  compare("rmsnorm out", be.gpu, out_g, out_r, "rmsnorm");
  compare("rmsnorm rstd", be.gpu, rstd_g, rstd_r, "rmsnorm");

  auto dout = mirror_random(be.gpu, shape_t{n, d}, 12);
  auto din = mirror_random(be.gpu, shape_t{n, d}, 13);
  auto dw = mirror_random(be.gpu, shape_t{d}, 14);
  rmsnorm_backward(be.ref, din.host.view(), dw.host.view(), dout.host.cview(), in.host.cview(), w.host.cview(),
                   rstd_r.cview());
  rmsnorm_backward(be.gpu, din.dev.view(), dw.dev.view(), dout.dev.cview(), in.dev.cview(), w.dev.cview(),
                   rstd_g.cview());
  compare("rmsnorm din", be.gpu, din.dev, din.host, "rmsnorm");
  compare("rmsnorm dweight", be.gpu, dw.dev, dw.host, "rmsnorm");
}

TEST_CASE("cuda vs xtensor: layernorm forward and backward, and each gradient alone") {
  if (!cuda_device_present()) return;
  cuda_pair be;
  const std::int64_t n = 21, d = 130;
  auto in = mirror_random(be.gpu, shape_t{n, d}, 20, -2.0, 3.0);
  auto w = mirror_random(be.gpu, shape_t{d}, 21, 0.5, 1.5);
  auto b = mirror_random(be.gpu, shape_t{d}, 22);
  tensor<float> out_r(shape_t{n, d}), mean_r(shape_t{n}), rstd_r(shape_t{n});
  device_tensor out_g(shape_t{n, d}), mean_g(shape_t{n}), rstd_g(shape_t{n});
  layernorm_forward(be.ref, out_r.view(), mean_r.view(), rstd_r.view(), in.host.cview(), w.host.cview(),
                    b.host.cview(), 1e-5f);
  layernorm_forward(be.gpu, out_g.view(), mean_g.view(), rstd_g.view(), in.dev.cview(), w.dev.cview(), b.dev.cview(),
                    1e-5f);
  compare("layernorm out", be.gpu, out_g, out_r, "layernorm");
  compare("layernorm mean", be.gpu, mean_g, mean_r, "layernorm");
  compare("layernorm rstd", be.gpu, rstd_g, rstd_r, "layernorm");

  auto dout = mirror_random(be.gpu, shape_t{n, d}, 23);
  auto din = mirror_random(be.gpu, shape_t{n, d}, 24);
  auto dw = mirror_random(be.gpu, shape_t{d}, 25);
  auto db = mirror_random(be.gpu, shape_t{d}, 26);
  layernorm_backward(be.ref, din.host.view(), dw.host.view(), db.host.view(), dout.host.cview(), in.host.cview(),
                     w.host.cview(), mean_r.cview(), rstd_r.cview());
  layernorm_backward(be.gpu, din.dev.view(), dw.dev.view(), db.dev.view(), dout.dev.cview(), in.dev.cview(),
                     w.dev.cview(), mean_g.cview(), rstd_g.cview());
  compare("layernorm din", be.gpu, din.dev, din.host, "layernorm");
  compare("layernorm dweight", be.gpu, dw.dev, dw.host, "layernorm");
  compare("layernorm dbias", be.gpu, db.dev, db.host, "layernorm");

  // Only dbias wanted: din and dweight stay untouched.
  layernorm_backward(be.ref, tensor_view<float>{}, tensor_view<float>{}, db.host.view(), dout.host.cview(),
                     in.host.cview(), w.host.cview(), mean_r.cview(), rstd_r.cview());
  layernorm_backward(be.gpu, tensor_view<float>{}, tensor_view<float>{}, db.dev.view(), dout.dev.cview(),
                     in.dev.cview(), w.dev.cview(), mean_g.cview(), rstd_g.cview());
  compare("layernorm dbias alone", be.gpu, db.dev, db.host, "layernorm");
  compare("layernorm din untouched", be.gpu, din.dev, din.host, "layernorm");
}

TEST_CASE("cuda vs xtensor: silu, gelu and swiglu, forward and backward") {
  if (!cuda_device_present()) return;
  cuda_pair be;
  const shape_t s{33, 65};
  auto x = mirror_random(be.gpu, s, 30, -6.0, 6.0);
  auto up = mirror_random(be.gpu, s, 31, -2.0, 2.0);
  auto dout = mirror_random(be.gpu, s, 32);
  tensor<float> out_r(s);
  device_tensor out_g(s);

  silu_forward(be.ref, out_r.view(), x.host.cview());
  silu_forward(be.gpu, out_g.view(), x.dev.cview());
  compare("silu forward", be.gpu, out_g, out_r, "activation");
  auto din = mirror_random(be.gpu, s, 33);
  silu_backward(be.ref, din.host.view(), dout.host.cview(), x.host.cview());
  silu_backward(be.gpu, din.dev.view(), dout.dev.cview(), x.dev.cview());
  compare("silu backward", be.gpu, din.dev, din.host, "activation");

  gelu_forward(be.ref, out_r.view(), x.host.cview());
  gelu_forward(be.gpu, out_g.view(), x.dev.cview());
  compare("gelu forward", be.gpu, out_g, out_r, "activation");
  gelu_backward(be.ref, din.host.view(), dout.host.cview(), x.host.cview());
  gelu_backward(be.gpu, din.dev.view(), dout.dev.cview(), x.dev.cview());
  compare("gelu backward", be.gpu, din.dev, din.host, "activation");

  swiglu_forward(be.ref, out_r.view(), x.host.cview(), up.host.cview());
  swiglu_forward(be.gpu, out_g.view(), x.dev.cview(), up.dev.cview());
  compare("swiglu forward", be.gpu, out_g, out_r, "activation");
  auto dgate = mirror_random(be.gpu, s, 34);
  auto dup = mirror_random(be.gpu, s, 35);
  swiglu_backward(be.ref, dgate.host.view(), dup.host.view(), dout.host.cview(), x.host.cview(), up.host.cview());
  swiglu_backward(be.gpu, dgate.dev.view(), dup.dev.view(), dout.dev.cview(), x.dev.cview(), up.dev.cview());
  compare("swiglu dgate", be.gpu, dgate.dev, dgate.host, "activation");
  compare("swiglu dup", be.gpu, dup.dev, dup.host, "activation");
  swiglu_backward(be.ref, tensor_view<float>{}, dup.host.view(), dout.host.cview(), x.host.cview(), up.host.cview());
  swiglu_backward(be.gpu, tensor_view<float>{}, dup.dev.view(), dout.dev.cview(), x.dev.cview(), up.dev.cview());
  compare("swiglu dup alone", be.gpu, dup.dev, dup.host, "activation");
}

TEST_CASE("cuda vs xtensor: softmax forward and backward, rows wider than a block") {
  if (!cuda_device_present()) return;
  cuda_pair be;
  for (const std::int64_t c : {std::int64_t{7}, std::int64_t{1000}}) {
    CAPTURE(c);
    auto in = mirror_random(be.gpu, shape_t{13, c}, 40 + c, -5.0, 5.0);
    tensor<float> out_r(shape_t{13, c});
    device_tensor out_g(shape_t{13, c});
    softmax_forward(be.ref, out_r.view(), in.host.cview());
    softmax_forward(be.gpu, out_g.view(), in.dev.cview());
    compare("softmax forward", be.gpu, out_g, out_r, "softmax");
    auto dout = mirror_random(be.gpu, shape_t{13, c}, 41 + c);
    auto din = mirror_random(be.gpu, shape_t{13, c}, 42 + c);
    softmax_backward(be.ref, din.host.view(), dout.host.cview(), out_r.cview());
    softmax_backward(be.gpu, din.dev.view(), dout.dev.cview(), out_g.cview());
    compare("softmax backward", be.gpu, din.dev, din.host, "softmax");
  }
}

TEST_CASE("cuda vs xtensor: cross_entropy with ignored rows, forward and backward; bad target") {
  if (!cuda_device_present()) return;
  cuda_pair be;
  const std::int64_t n = 40, vocab = 517;
  const std::int32_t ignore = -100;
  auto targets_h = random_ids(shape_t{n}, static_cast<std::int32_t>(vocab), 50);
  for (const std::int64_t i : {std::int64_t{0}, std::int64_t{7}, std::int64_t{39}}) targets_h[i] = ignore;
  const auto targets_g = upload(be.gpu, targets_h);
  auto logits = mirror_random(be.gpu, shape_t{n, vocab}, 51, -4.0, 4.0);
  tensor<float> losses_r(shape_t{n}), probs_r(shape_t{n, vocab});
  device_tensor losses_g(shape_t{n}), probs_g(shape_t{n, vocab});
  const auto count_r =
      cross_entropy_forward(be.ref, losses_r.view(), probs_r.view(), logits.host.cview(), targets_h.cview(), ignore);
  const auto count_g =
      cross_entropy_forward(be.gpu, losses_g.view(), probs_g.view(), logits.dev.cview(), targets_g.cview(), ignore);
  CHECK(count_g == count_r);
  CHECK(count_g == n - 3);
  compare("cross_entropy losses", be.gpu, losses_g, losses_r, "cross_entropy");
  compare("cross_entropy probs", be.gpu, probs_g, probs_r, "cross_entropy");

  auto dlogits = mirror_random(be.gpu, shape_t{n, vocab}, 52);
  const float scale = 1.0f / static_cast<float>(count_r);
  cross_entropy_backward(be.ref, dlogits.host.view(), probs_r.cview(), targets_h.cview(), ignore, scale);
  cross_entropy_backward(be.gpu, dlogits.dev.view(), probs_g.cview(), targets_g.cview(), ignore, scale);
  compare("cross_entropy dlogits", be.gpu, dlogits.dev, dlogits.host, "cross_entropy");

  auto bad_h = targets_h.clone();
  bad_h[5] = static_cast<std::int32_t>(vocab) + 3;
  const auto bad_g = upload(be.gpu, bad_h);
  expect_same_error(
      "cross_entropy target out of range",
      [&] { cross_entropy_forward(be.ref, losses_r.view(), probs_r.view(), logits.host.cview(), bad_h.cview(), ignore); },
      [&] { cross_entropy_forward(be.gpu, losses_g.view(), probs_g.view(), logits.dev.cview(), bad_g.cview(), ignore); });
}
