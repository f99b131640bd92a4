// Finite-difference checks of range attention (packed causal, segment cross-attention with an empty
// range, strided fused-QKV views) and of rope (with a zero table row and a strided view).
#include <cmath>

#include "grad/grad_fixture.hpp"
#include "patchzoo/ops/attention_ranges.hpp"

using namespace patchzoo;
using namespace patchzoo::test;

namespace {

// Checks dq, dk and dv of sum(out * w) for separate contiguous q[Tq, H, D] and k, v[Tk, H, D].
void check_attention_grads(std::int64_t tq, std::int64_t tk, const tensor<std::int32_t>& ranges) {
  xtensor_backend be;
  constexpr std::int64_t heads = 2, dim = 3;
  const double scale = 1.0 / std::sqrt(static_cast<double>(dim));
  dtensor q = random_tensor<double>({tq, heads, dim}, 31), k = random_tensor<double>({tk, heads, dim}, 32);
  dtensor v = random_tensor<double>({tk, heads, dim}, 33);
  dtensor out({tq, heads, dim}), lse({tq, heads});
  const dtensor w = loss_weights(out.shape());
  const auto loss = [&] {
    attention_forward(be, out.view(), lse.view(), q.cview(), k.cview(), v.cview(), ranges.cview(), scale);
    return weighted_sum(out, w);
  };
  loss();
  dtensor dq = prefilled_grad(q.shape()), dk = prefilled_grad(k.shape()), dv = prefilled_grad(v.shape());
  attention_backward(be, dq.view(), dk.view(), dv.view(), w.cview(), q.cview(), k.cview(), v.cview(), out.cview(),
                     lse.cview(), ranges.cview(), scale);
  check_gradient("attention dq", q, accumulated(dq), loss);
  check_gradient("attention dk", k, accumulated(dk), loss);
  check_gradient("attention dv", v, accumulated(dv), loss);
}

}  // namespace

TEST_CASE("grad: attention, packed causal over three sequences of different lengths") {
  const std::vector<std::int32_t> offsets{0, 3, 4, 8};
  check_attention_grads(8, 8, causal_ranges(offsets));
}

TEST_CASE("grad: attention, packed full attention over two sequences") {
  check_attention_grads(5, 5, block_ranges(std::vector<std::int32_t>{0, 2, 5}));
}

TEST_CASE("grad: attention, segment cross-attention with an empty segment") {
  // Three queries over six keys; the second segment is empty.
  const tensor<std::int32_t> ranges = segment_ranges(std::vector<std::int32_t>{0, 2, 2, 6});
  check_attention_grads(3, 6, ranges);

  xtensor_backend be;
  dtensor q = random_tensor<double>({3, 2, 3}, 31), kv = random_tensor<double>({6, 2, 3}, 32);
  dtensor out = random_tensor<double>({3, 2, 3}, 34), lse({3, 2});
  attention_forward(be, out.view(), lse.view(), q.cview(), kv.cview(), kv.cview(), ranges.cview(), 0.5);
  for (std::int64_t h = 0; h < 2; ++h) CHECK(std::isinf(lse[2 + h]));
  CHECK(lse[2] < 0);
  for (std::int64_t e = 0; e < 6; ++e) CHECK(out[6 + e] == 0.0);

  dtensor dq = prefilled_grad(q.shape()), dkv = prefilled_grad(kv.shape());
  const dtensor dout = loss_weights(out.shape());
  attention_backward(be, dq.view(), dkv.view(), tensor_view<double>(), dout.cview(), q.cview(), kv.cview(), kv.cview(),
                     out.cview(), lse.cview(), ranges.cview(), 0.5);
  for (std::int64_t e = 0; e < 6; ++e) CHECK(dq[6 + e] == grad_prefill);  // the empty query gets no gradient
}

TEST_CASE("grad: attention on strided views of a fused QKV buffer, strided output") {
  xtensor_backend be;
  constexpr std::int64_t t = 5, heads = 2, dim = 4, pad = 3;
  constexpr std::int64_t row = 3 * heads * dim, out_row = heads * dim + pad;
  const tensor<std::int32_t> ranges = causal_ranges(std::vector<std::int32_t>{0, 2, 5});
  dtensor qkv = random_tensor<double>({t, 3, heads, dim}, 35);
  dtensor out_buf({t, out_row}), lse({t, heads});
  const dtensor w = loss_weights(out_buf.shape());
  const std::array<std::int64_t, max_rank> qkv_strides{row, dim, 1, 0}, out_strides{out_row, dim, 1, 0};
  const shape_t s{t, heads, dim};
  const auto part = [&](auto* base, std::int64_t which) { return tensor_view(base + which * heads * dim, s, qkv_strides); };
  const tensor_view<double> out(out_buf.data(), s, out_strides);
  const auto loss = [&] {
    attention_forward(be, out, lse.view(), const_view<double>(part(qkv.data(), 0)), const_view<double>(part(qkv.data(), 1)),
                      const_view<double>(part(qkv.data(), 2)), ranges.cview(), 0.5);
    return weighted_sum(out_buf, w);
  };
  loss();
  dtensor dqkv = prefilled_grad(qkv.shape());
  const const_view<double> dout(w.data(), s, out_strides);
  attention_backward(be, part(dqkv.data(), 0), part(dqkv.data(), 1), part(dqkv.data(), 2), dout,
                     const_view<double>(part(qkv.data(), 0)), const_view<double>(part(qkv.data(), 1)),
                     const_view<double>(part(qkv.data(), 2)), const_view<double>(out), lse.cview(), ranges.cview(), 0.5);
  check_gradient("attention fused dqkv", qkv, accumulated(dqkv), loss);
  for (std::int64_t i = 0; i < t; ++i)
    for (std::int64_t e = heads * dim; e < out_row; ++e) CHECK(out_buf[i * out_row + e] == 0.0);  // padding untouched
}

TEST_CASE("grad: rope with a zero table row, on a strided view") {
  xtensor_backend be;
  constexpr std::int64_t t = 3, heads = 2, dim = 4;
  // x is the first half of each row of a [T, 2, H, D] buffer; the second half must pass through.
  dtensor buf = random_tensor<double>({t, 2, heads, dim}, 36);
  dtensor cos({t, dim / 2}), sin({t, dim / 2});
  rng_stream r(37);
  for (std::int64_t i = 0; i < cos.numel(); ++i) {
    const double angle = 6.0 * r.uniform();
    cos[i] = std::cos(angle);
    sin[i] = std::sin(angle);
  }
  for (std::int64_t i = 0; i < dim / 2; ++i) cos[dim / 2 + i] = sin[dim / 2 + i] = 0.0;  // row 1: the class slot
  const std::array<std::int64_t, max_rank> strides{2 * heads * dim, dim, 1, 0};
  const dtensor w = loss_weights(buf.shape());
  dtensor rotated(buf.shape());
  const auto loss = [&] {
    rotated = buf.clone();
    rope_forward(be, tensor_view<double>(rotated.data(), {t, heads, dim}, strides), cos.cview(), sin.cview());
    return weighted_sum(rotated, w);
  };
  dtensor grad = w.clone();
  rope_backward(be, tensor_view<double>(grad.data(), {t, heads, dim}, strides), cos.cview(), sin.cview());
  check_gradient("rope dx", buf, grad, loss);
  loss();
  for (std::int64_t e = 0; e < 2 * heads * dim; ++e) {
    const std::int64_t i = 2 * heads * dim + e;  // token 1
    CHECK(rotated[i] == (e < heads * dim ? 0.0 : buf[i]));
  }
}
