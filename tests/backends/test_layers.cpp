// Eigen vs xtensor: bias, embedding, RMSNorm, LayerNorm, activations, softmax and cross-entropy, forward
// and backward. Gradient outputs start from random values, so the += accumulation is checked too.
#include "backend_pair.hpp"

using namespace patchzoo;
using namespace patchzoo::test;

TEST_CASE_TEMPLATE("backends agree: add_bias and bias_backward", T, PZ_REAL_TYPES) {
  backend_pair be;
  const shape_t s{300, 130};
  const auto x0 = random_tensor<T>(s, 1), bias = random_tensor<T>(shape_t{130}, 2);
  auto r = x0.clone(), f = x0.clone();
  add_bias(be.ref, r.view(), bias.cview());
  add_bias(be.fast, f.view(), bias.cview());
  compare("add_bias", f, r, "bias");
  const auto db0 = random_tensor<T>(shape_t{130}, 3);
  auto dr = db0.clone(), df = db0.clone();
  bias_backward(be.ref, dr.view(), x0.cview());
  bias_backward(be.fast, df.view(), x0.cview());
  compare("bias_backward", df, dr, "bias");
}

TEST_CASE_TEMPLATE("backends agree: embedding forward and backward with repeated ids", T, PZ_REAL_TYPES) {
  backend_pair be;
  const std::int64_t n = 200, vocab = 50, d = 192;
  const auto table = random_tensor<T>(shape_t{vocab, d}, 4);
  const auto ids = random_ids(shape_t{n}, static_cast<std::int32_t>(vocab), 5);
  tensor<T> r(shape_t{n, d}), f(shape_t{n, d});
  embedding_forward(be.ref, r.view(), ids.cview(), table.cview());
  embedding_forward(be.fast, f.view(), ids.cview(), table.cview());
  compare("embedding_forward", f, r, "embedding");
  const auto dout = random_tensor<T>(shape_t{n, d}, 6);
  const auto dt0 = random_tensor<T>(shape_t{vocab, d}, 7);
  auto dr = dt0.clone(), df = dt0.clone();
  embedding_backward(be.ref, dr.view(), dout.cview(), ids.cview());
  embedding_backward(be.fast, df.view(), dout.cview(), ids.cview());
  compare("embedding_backward", df, dr, "embedding");
}

TEST_CASE_TEMPLATE("backends agree: rmsnorm forward and backward", T, PZ_REAL_TYPES) {
  backend_pair be;
  const std::int64_t n = 96, d = 384;
  const auto in = random_tensor<T>(shape_t{n, d}, 8, -2.0, 2.0), w = random_tensor<T>(shape_t{d}, 9, 0.5, 1.5);
  tensor<T> r(shape_t{n, d}), f(shape_t{n, d}), rs_r(shape_t{n}), rs_f(shape_t{n});
  rmsnorm_forward(be.ref, r.view(), rs_r.view(), in.cview(), w.cview(), T(1e-5));
  rmsnorm_forward(be.fast, f.view(), rs_f.view(), in.cview(), w.cview(), T(1e-5));
  compare("rmsnorm out", f, r, "rmsnorm");
  compare("rmsnorm rstd", rs_f, rs_r, "rmsnorm");
  const auto dout = random_tensor<T>(shape_t{n, d}, 10);
  const auto dx0 = random_tensor<T>(shape_t{n, d}, 11), dw0 = random_tensor<T>(shape_t{d}, 12);
  auto dx_r = dx0.clone(), dx_f = dx0.clone(), dw_r = dw0.clone(), dw_f = dw0.clone();
  rmsnorm_backward(be.ref, dx_r.view(), dw_r.view(), dout.cview(), in.cview(), w.cview(), rs_r.cview());
  rmsnorm_backward(be.fast, dx_f.view(), dw_f.view(), dout.cview(), in.cview(), w.cview(), rs_r.cview());
  compare("rmsnorm din", dx_f, dx_r, "rmsnorm");
  compare("rmsnorm dweight", dw_f, dw_r, "rmsnorm");
  // An empty dweight is skipped; din alone still accumulates.
  rmsnorm_backward(be.ref, dx_r.view(), tensor_view<T>{}, dout.cview(), in.cview(), w.cview(), rs_r.cview());
  rmsnorm_backward(be.fast, dx_f.view(), tensor_view<T>{}, dout.cview(), in.cview(), w.cview(), rs_r.cview());
  compare("rmsnorm din only", dx_f, dx_r, "rmsnorm");
}

TEST_CASE_TEMPLATE("backends agree: layernorm forward and backward", T, PZ_REAL_TYPES) {
  backend_pair be;
  const std::int64_t n = 96, d = 384;
  // An offset mean checks that the variance does not cancel.
  const auto in = random_tensor<T>(shape_t{n, d}, 13, 3.0, 5.0);
  const auto w = random_tensor<T>(shape_t{d}, 14, 0.5, 1.5), b = random_tensor<T>(shape_t{d}, 15);
  tensor<T> r(shape_t{n, d}), f(shape_t{n, d});
  tensor<T> mu_r(shape_t{n}), mu_f(shape_t{n}), rs_r(shape_t{n}), rs_f(shape_t{n});
  layernorm_forward(be.ref, r.view(), mu_r.view(), rs_r.view(), in.cview(), w.cview(), b.cview(), T(1e-5));
  layernorm_forward(be.fast, f.view(), mu_f.view(), rs_f.view(), in.cview(), w.cview(), b.cview(), T(1e-5));
  compare("layernorm out", f, r, "layernorm");
  compare("layernorm mean", mu_f, mu_r, "layernorm");
  compare("layernorm rstd", rs_f, rs_r, "layernorm");
  const auto dout = random_tensor<T>(shape_t{n, d}, 16);
  const auto dx0 = random_tensor<T>(shape_t{n, d}, 17), dw0 = random_tensor<T>(shape_t{d}, 18);
  const auto db0 = random_tensor<T>(shape_t{d}, 19);
  auto dx_r = dx0.clone(), dx_f = dx0.clone(), dw_r = dw0.clone(), dw_f = dw0.clone(), db_r = db0.clone(),
       db_f = db0.clone();
  layernorm_backward(be.ref, dx_r.view(), dw_r.view(), db_r.view(), dout.cview(), in.cview(), w.cview(),
                     mu_r.cview(), rs_r.cview());
  layernorm_backward(be.fast, dx_f.view(), dw_f.view(), db_f.view(), dout.cview(), in.cview(), w.cview(),
                     mu_r.cview(), rs_r.cview());
  compare("layernorm din", dx_f, dx_r, "layernorm");
  compare("layernorm dweight", dw_f, dw_r, "layernorm");
  compare("layernorm dbias", db_f, db_r, "layernorm");
}

TEST_CASE_TEMPLATE("backends agree: silu, gelu and swiglu forward and backward", T, PZ_REAL_TYPES) {
  backend_pair be;
  const shape_t s{64, 700};
  const auto x = random_tensor<T>(s, 20, -6.0, 6.0), up = random_tensor<T>(s, 21, -2.0, 2.0);
  const auto dout = random_tensor<T>(s, 22), g0 = random_tensor<T>(s, 23);
  tensor<T> r(s), f(s);
  silu_forward(be.ref, r.view(), x.cview());
  silu_forward(be.fast, f.view(), x.cview());
  compare("silu_forward", f, r, "activation");
  auto dr = g0.clone(), df = g0.clone();
  silu_backward(be.ref, dr.view(), dout.cview(), x.cview());
  silu_backward(be.fast, df.view(), dout.cview(), x.cview());
  compare("silu_backward", df, dr, "activation");

  gelu_forward(be.ref, r.view(), x.cview());
  gelu_forward(be.fast, f.view(), x.cview());
  compare("gelu_forward", f, r, "activation");
  dr = g0.clone();
  df = g0.clone();
  gelu_backward(be.ref, dr.view(), dout.cview(), x.cview());
  gelu_backward(be.fast, df.view(), dout.cview(), x.cview());
  compare("gelu_backward", df, dr, "activation");

  swiglu_forward(be.ref, r.view(), x.cview(), up.cview());
  swiglu_forward(be.fast, f.view(), x.cview(), up.cview());
  compare("swiglu_forward", f, r, "activation");
  dr = g0.clone();
  df = g0.clone();
  auto dur = random_tensor<T>(s, 24), duf = dur.clone();
  swiglu_backward(be.ref, dr.view(), dur.view(), dout.cview(), x.cview(), up.cview());
  swiglu_backward(be.fast, df.view(), duf.view(), dout.cview(), x.cview(), up.cview());
  compare("swiglu dgate", df, dr, "activation");
  compare("swiglu dup", duf, dur, "activation");
  // Only dup wanted.
  swiglu_backward(be.ref, tensor_view<T>{}, dur.view(), dout.cview(), x.cview(), up.cview());
  swiglu_backward(be.fast, tensor_view<T>{}, duf.view(), dout.cview(), x.cview(), up.cview());
  compare("swiglu dup only", duf, dur, "activation");
}

TEST_CASE_TEMPLATE("backends agree: softmax forward and backward", T, PZ_REAL_TYPES) {
  backend_pair be;
  const shape_t s{120, 333};
  const auto x = random_tensor<T>(s, 25, -8.0, 8.0);
  tensor<T> r(s), f(s);
  softmax_forward(be.ref, r.view(), x.cview());
  softmax_forward(be.fast, f.view(), x.cview());
  compare("softmax_forward", f, r, "softmax");
  const auto dout = random_tensor<T>(s, 26), g0 = random_tensor<T>(s, 27);
  auto dr = g0.clone(), df = g0.clone();
  softmax_backward(be.ref, dr.view(), dout.cview(), r.cview());
  softmax_backward(be.fast, df.view(), dout.cview(), r.cview());
  compare("softmax_backward", df, dr, "softmax");
}

TEST_CASE_TEMPLATE("backends agree: cross_entropy forward and backward with ignored rows", T, PZ_REAL_TYPES) {
  backend_pair be;
  const std::int64_t n = 70, v = 1000;
  const std::int32_t ignore = -100;
  const auto logits = random_tensor<T>(shape_t{n, v}, 28, -10.0, 10.0);
  auto targets = random_ids(shape_t{n}, static_cast<std::int32_t>(v), 29);
  for (std::int64_t i = 0; i < n; i += 7) targets[i] = ignore;
  tensor<T> lr(shape_t{n}), lf(shape_t{n}), pr(shape_t{n, v}), pf(shape_t{n, v});
  const auto counted_r = cross_entropy_forward(be.ref, lr.view(), pr.view(), logits.cview(), targets.cview(), ignore);
  const auto counted_f = cross_entropy_forward(be.fast, lf.view(), pf.view(), logits.cview(), targets.cview(), ignore);
  CHECK(counted_r == n - 10);
  CHECK(counted_f == counted_r);
  compare("cross_entropy losses", lf, lr, "cross_entropy");
  compare("cross_entropy probs", pf, pr, "cross_entropy");
  CHECK(lf[0] == T(0));
  const auto g0 = random_tensor<T>(shape_t{n, v}, 30);
  auto dr = g0.clone(), df = g0.clone();
  cross_entropy_backward(be.ref, dr.view(), pr.cview(), targets.cview(), ignore, T(1.0 / 60));
  cross_entropy_backward(be.fast, df.view(), pr.cview(), targets.cview(), ignore, T(1.0 / 60));
  compare("cross_entropy dlogits", df, dr, "cross_entropy");
}
