// CUDA vs xtensor: range attention (packed causal, cross-attention with empty ranges, decoding) on
// strided q/k/v slots of fused buffers, forward and backward; rope forward and backward in place.
#include <cmath>
#include <vector>

#include "cuda_fixture.hpp"

using namespace patchzoo;
using namespace patchzoo::test;

namespace {

// Causal ranges of packed sequences: query i of a sequence starting at s attends [s, i + 1).
tensor<std::int32_t> packed_causal(const std::vector<std::int32_t>& lengths) {
  std::vector<std::int32_t> r;
  std::int32_t start = 0;
  for (const std::int32_t len : lengths) {
    for (std::int32_t i = 0; i < len; ++i) {
      r.push_back(start);
      r.push_back(start + i + 1);
    }
    start += len;
  }
  return int_tensor(shape_t{start, 2}, r);
}

// lse is -inf exactly on empty ranges: both backends must agree on where, and closely elsewhere.
void compare_lse(cuda_backend& gpu, const device_tensor& lse_g, const tensor<float>& lse_r) {
  auto got = download(gpu, lse_g);
  auto want = lse_r.clone();
  for (std::int64_t i = 0; i < want.numel(); ++i) {
    CHECK(std::isinf(got[i]) == std::isinf(want[i]));
    if (std::isinf(want[i])) got[i] = want[i] = 0.0f;
  }
  check_close<float, float>("attention lse", got.cview(), want.cview(), f32_tolerance("attention"));
}

// q is slot 0 of a fused [Tq, 3, H, D] buffer, k and v slots 1 and 2 of a [Tk, 3, H, D] one; the gradients
// land in slots of fused buffers too, which are compared whole (untouched slots included).
void check_attention(const std::string& what, std::int64_t tq, std::int64_t tk, std::int64_t heads, std::int64_t d,
                     const tensor<std::int32_t>& ranges_h, std::uint64_t seed) {
  INFO(what);
  cuda_pair be;
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(d)));
  auto qbuf = mirror_random(be.gpu, shape_t{tq, 3, heads, d}, seed, -2.0, 2.0);
  auto kvbuf = mirror_random(be.gpu, shape_t{tk, 3, heads, d}, seed + 1, -2.0, 2.0);
  const auto ranges_g = upload(be.gpu, ranges_h);
  tensor<float> out_r(shape_t{tq, heads, d}), lse_r(shape_t{tq, heads});
  device_tensor out_g(shape_t{tq, heads, d}), lse_g(shape_t{tq, heads});
  attention_forward(be.ref, out_r.view(), lse_r.view(), input_slot(qbuf.host, 0), input_slot(kvbuf.host, 1),
                    input_slot(kvbuf.host, 2), ranges_h.cview(), scale);
  attention_forward(be.gpu, out_g.view(), lse_g.view(), input_slot(qbuf.dev, 0), input_slot(kvbuf.dev, 1),
                    input_slot(kvbuf.dev, 2), ranges_g.cview(), scale);
  compare("attention out", be.gpu, out_g, out_r, "attention");
  compare_lse(be.gpu, lse_g, lse_r);

  auto dout = mirror_random(be.gpu, shape_t{tq, heads, d}, seed + 2);
  auto dq = mirror_random(be.gpu, shape_t{tq, 3, heads, d}, seed + 3);
  auto dkv = mirror_random(be.gpu, shape_t{tk, 3, heads, d}, seed + 4);
  // Both passes start from the reference's forward results, so only the backward pass is compared.
  const auto out_ref_g = upload(be.gpu, out_r);
  const auto lse_ref_g = upload(be.gpu, lse_r);
  attention_backward(be.ref, fused_slot(dq.host, 0), fused_slot(dkv.host, 1), fused_slot(dkv.host, 2),
                     dout.host.cview(), input_slot(qbuf.host, 0), input_slot(kvbuf.host, 1), input_slot(kvbuf.host, 2),
                     out_r.cview(), lse_r.cview(), ranges_h.cview(), scale);
  attention_backward(be.gpu, fused_slot(dq.dev, 0), fused_slot(dkv.dev, 1), fused_slot(dkv.dev, 2), dout.dev.cview(),
                     input_slot(qbuf.dev, 0), input_slot(kvbuf.dev, 1), input_slot(kvbuf.dev, 2), out_ref_g.cview(),
                     lse_ref_g.cview(), ranges_g.cview(), scale);
  compare("attention dq buffer", be.gpu, dq.dev, dq.host, "attention");
  compare("attention dk/dv buffer", be.gpu, dkv.dev, dkv.host, "attention");

  // Only dv wanted.
  attention_backward(be.ref, tensor_view<float>{}, tensor_view<float>{}, fused_slot(dkv.host, 2), dout.host.cview(),
                     input_slot(qbuf.host, 0), input_slot(kvbuf.host, 1), input_slot(kvbuf.host, 2), out_r.cview(),
                     lse_r.cview(), ranges_h.cview(), scale);
  attention_backward(be.gpu, tensor_view<float>{}, tensor_view<float>{}, fused_slot(dkv.dev, 2), dout.dev.cview(),
                     input_slot(qbuf.dev, 0), input_slot(kvbuf.dev, 1), input_slot(kvbuf.dev, 2), out_ref_g.cview(),
                     lse_ref_g.cview(), ranges_g.cview(), scale);
  compare("attention dv alone", be.gpu, dkv.dev, dkv.host, "attention");
}

}  // namespace

TEST_CASE("cuda vs xtensor: packed causal self-attention") {
  if (!cuda_device_present()) return;
  const auto ranges = packed_causal({1, 17, 64, 100});
  check_attention("packed causal H=4 D=32", ranges.dim(0), ranges.dim(0), 4, 32, ranges, 100);
}

TEST_CASE("cuda vs xtensor: cross-attention with empty ranges, head_dim not a multiple of 32") {
  if (!cuda_device_present()) return;
  const std::int64_t tq = 9, tk = 40;
  std::vector<std::int32_t> r;
  for (std::int32_t i = 0; i < tq; ++i) {
    const std::int32_t begin = (i * 5) % 30;
    r.push_back(begin);
    r.push_back(i % 3 == 0 ? begin : begin + 1 + i);  // every third query attends nothing
  }
  check_attention("cross ranges H=3 D=20", tq, tk, 3, 20, int_tensor(shape_t{tq, 2}, r), 200);
}

TEST_CASE("cuda vs xtensor: one query decoding over a long key cache, wide heads") {
  if (!cuda_device_present()) return;
  const std::int64_t tk = 700;
  check_attention("decode Tk=700 H=2 D=96", 1, tk, 2, 96, int_tensor(shape_t{1, 2}, {0, static_cast<std::int32_t>(tk)}),
                  300);
}

TEST_CASE("cuda vs xtensor: a kv_range outside the keys is the same error") {
  if (!cuda_device_present()) return;
  cuda_pair be;
  auto q = mirror_random(be.gpu, shape_t{2, 1, 8}, 400);
  const auto bad_h = int_tensor(shape_t{2, 2}, {0, 1, 1, 3});
  const auto bad_g = upload(be.gpu, bad_h);
  tensor<float> out_r(shape_t{2, 1, 8}), lse_r(shape_t{2, 1});
  device_tensor out_g(shape_t{2, 1, 8}), lse_g(shape_t{2, 1});
  expect_same_error(
      "kv_range end past the keys",
      [&] {
        attention_forward(be.ref, out_r.view(), lse_r.view(), q.host.cview(), q.host.cview(), q.host.cview(),
                          bad_h.cview(), 1.0f);
      },
      [&] {
        attention_forward(be.gpu, out_g.view(), lse_g.view(), q.dev.cview(), q.dev.cview(), q.dev.cview(), bad_g.cview(),
                          1.0f);
      });
}

TEST_CASE("cuda vs xtensor: rope forward and backward on strided rows") {
  if (!cuda_device_present()) return;
  cuda_pair be;
  const std::int64_t t = 23, heads = 3, d = 16;
  auto buf = mirror_random(be.gpu, shape_t{t, 3, heads, d}, 500, -2.0, 2.0);
  auto cos = mirror_random(be.gpu, shape_t{t, d / 2}, 501);
  auto sin = mirror_random(be.gpu, shape_t{t, d / 2}, 502);
  rope_forward(be.ref, fused_slot(buf.host, 1), cos.host.cview(), sin.host.cview());
  rope_forward(be.gpu, fused_slot(buf.dev, 1), cos.dev.cview(), sin.dev.cview());
  compare("rope forward (whole fused buffer)", be.gpu, buf.dev, buf.host, "rope");
  rope_backward(be.ref, fused_slot(buf.host, 2), cos.host.cview(), sin.host.cview());
  rope_backward(be.gpu, fused_slot(buf.dev, 2), cos.dev.cview(), sin.dev.cview());
  compare("rope backward (whole fused buffer)", be.gpu, buf.dev, buf.host, "rope");
}
