// Eigen vs xtensor: RoPE on strided rows, segment max-pooling, dropout masks and AdamW steps.
#include "backend_pair.hpp"

using namespace patchzoo;
using namespace patchzoo::test;

TEST_CASE_TEMPLATE("backends agree: rope forward and backward on strided rows, with zero table rows", T, PZ_REAL_TYPES) {
  backend_pair be;
  const std::int64_t t = 150, heads = 4, d = 32;
  auto cos = random_tensor<T>(shape_t{t, d / 2}, 1), sin = random_tensor<T>(shape_t{t, d / 2}, 2);
  for (std::int64_t j = 0; j < d / 2; ++j) cos[j] = sin[j] = T(0);  // the DPAR class slot
  const auto buf0 = random_tensor<T>(shape_t{t, 3, heads, d}, 3);
  auto r = buf0.clone(), f = buf0.clone();
  rope_forward(be.ref, fused_slot(r, 1), cos.cview(), sin.cview());
  rope_forward(be.fast, fused_slot(f, 1), cos.cview(), sin.cview());
  compare("rope_forward", f, r, "rope");
  CHECK(f[heads * d] == T(0));  // slot 1 of row 0 was zeroed by the zero table row
  rope_backward(be.ref, fused_slot(r, 2), cos.cview(), sin.cview());
  rope_backward(be.fast, fused_slot(f, 2), cos.cview(), sin.cview());
  compare("rope_backward", f, r, "rope");
}

TEST_CASE_TEMPLATE("backends agree: segment_maxpool forward and backward, with an empty segment", T, PZ_REAL_TYPES) {
  backend_pair be;
  const std::int64_t t = 400, d = 96;
  const auto in = random_tensor<T>(shape_t{t, d}, 4);
  const auto offsets = int_tensor(shape_t{6}, {0, 1, 80, 80, 390, 400});
  const shape_t os{5, d};
  tensor<T> r(os), f(os);
  tensor<std::int32_t> ar(os), af(os);
  segment_maxpool_forward(be.ref, r.view(), ar.view(), in.cview(), offsets.cview());
  segment_maxpool_forward(be.fast, f.view(), af.view(), in.cview(), offsets.cview());
  compare("segment_maxpool out", f, r, "segment_maxpool");
  CHECK(af.to_vector() == ar.to_vector());
  CHECK(af[2 * d] == -1);
  const auto dout = random_tensor<T>(os, 5);
  const auto g0 = random_tensor<T>(shape_t{t, d}, 6);
  auto dr = g0.clone(), df = g0.clone();
  segment_maxpool_backward(be.ref, dr.view(), dout.cview(), ar.cview());
  segment_maxpool_backward(be.fast, df.view(), dout.cview(), ar.cview());
  compare("segment_maxpool din", df, dr, "segment_maxpool");
}

TEST_CASE_TEMPLATE("backends agree: dropout forward and backward draw the same mask", T, PZ_REAL_TYPES) {
  backend_pair be;
  const shape_t s{100, 333};
  const auto in = random_tensor<T>(s, 7), dout = random_tensor<T>(s, 8), g0 = random_tensor<T>(s, 9);
  for (const float p : {0.0f, 0.1f, 0.5f}) {
    tensor<T> r(s), f(s);
    dropout_forward(be.ref, r.view(), in.cview(), p, 1234);
    dropout_forward(be.fast, f.view(), in.cview(), p, 1234);
    compare("dropout_forward", f, r, "dropout");
    auto dr = g0.clone(), df = g0.clone();
    dropout_backward(be.ref, dr.view(), dout.cview(), p, 1234);
    dropout_backward(be.fast, df.view(), dout.cview(), p, 1234);
    compare("dropout_backward", df, dr, "dropout");
  }
}

TEST_CASE_TEMPLATE("backends agree: adamw over several steps, with and without weight decay", T, PZ_REAL_TYPES) {
  backend_pair be;
  const shape_t s{300, 129};
  for (const double wd : {0.0, 0.1}) {
    const adamw_params h{1e-2, 0.9, 0.95, 1e-8, wd};
    auto pr = random_tensor<T>(s, 10), pf = pr.clone();
    tensor<T> mr(s), mf(s), vr(s), vf(s);
    for (std::int64_t step = 1; step <= 3; ++step) {
      const auto g = random_tensor<T>(s, 20 + static_cast<std::uint64_t>(step));
      adamw_step(be.ref, pr.view(), g.cview(), mr.view(), vr.view(), h, step);
      adamw_step(be.fast, pf.view(), g.cview(), mf.view(), vf.view(), h, step);
    }
    compare("adamw param", pf, pr, "adamw");
    compare("adamw m", mf, mr, "adamw");
    compare("adamw v", vf, vr, "adamw");
  }
}
