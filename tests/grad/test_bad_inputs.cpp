// Bad input gives a patchzoo::error naming the op and the offending tensor, never a crash.
#include "grad/grad_fixture.hpp"
#include "patchzoo/ops/linear.hpp"

using namespace patchzoo;
using namespace patchzoo::test;

#define CHECK_ERROR(expr, text) CHECK_THROWS_WITH_AS(expr, doctest::Contains(text), patchzoo::error)

TEST_CASE("bad input: shape mismatches name the op and the tensor") {
  xtensor_backend be;
  dtensor in({2, 4}), out({2, 4}), stat({2}), weight3({3}), weight4({4});
  CHECK_ERROR(rmsnorm_forward(be, out.view(), stat.view(), in.cview(), weight3.cview(), 1e-5),
              "rmsnorm_forward: weight has shape [3], expected [4]");
  CHECK_ERROR(layernorm_forward(be, out.view(), stat.view(), stat.view(), in.cview(), weight4.cview(), weight3.cview(), 1e-5),
              "layernorm_forward: bias has shape [3], expected [4]");
  dtensor din({4, 2});
  CHECK_ERROR(rmsnorm_backward(be, din.view(), tensor_view<double>(), out.cview(), in.cview(), weight4.cview(), stat.cview()),
              "rmsnorm_backward: din has shape [4, 2], expected [2, 4]");
  dtensor wide({2, 5});
  CHECK_ERROR(softmax_forward(be, wide.view(), in.cview()), "softmax_forward: output has shape [2, 5]");
  CHECK_ERROR(swiglu_forward(be, out.view(), in.cview(), wide.cview()), "swiglu_forward: gate has shape [2, 4] but up");
  CHECK_ERROR(silu_backward(be, din.view(), wide.cview(), in.cview()), "silu_backward: dout has shape [2, 5]");

  dtensor weight({3, 5}), lin_out({2, 3});
  CHECK_ERROR(linear_forward(be, lin_out.view(), in.cview(), weight.cview(), const_view<double>()),
              "linear_forward: input [2, 4] has 4 features but weight [3, 5] expects 5");
  dtensor a({2, 3}), b({3, 4}), dc({2, 4}), bad_da({3, 2});
  CHECK_ERROR(matmul_backward(be, bad_da.view(), tensor_view<double>(), dc.cview(), a.cview(), b.cview(), false, false),
              "matmul_backward: da has shape [3, 2], expected [2, 3]");

  dtensor img({1, 2, 5, 5}), kernel({4, 3, 3, 3}), conv_out({1, 4, 3, 3});
  CHECK_ERROR(conv2d_forward(be, conv_out.view(), img.cview(), kernel.cview(), const_view<double>(), conv2d_params{}),
              "conv2d_forward: input [1, 2, 5, 5] has 2 channels but weight [4, 3, 3, 3] expects 3");
  dtensor pooled({1, 2, 3, 3});
  CHECK_ERROR(avgpool2d_forward(be, pooled.view(), img.cview(), pool2d_params{2, 2}),
              "avgpool2d_forward: output has shape [1, 2, 3, 3], expected [1, 2, 2, 2]");
}

TEST_CASE("bad input: out-of-range indices name the value and position") {
  xtensor_backend be;
  const dtensor table({5, 2});
  dtensor rows({3, 2});
  const tensor<std::int32_t> ids = int_tensor({3}, {0, 7, 1});
  CHECK_ERROR(embedding_forward(be, rows.view(), ids.cview(), table.cview()),
              "embedding_forward: ids value 7 at position 1 is out of range [0, 5)");
  dtensor dtable({5, 2});
  const tensor<std::int32_t> negative = int_tensor({3}, {0, 1, -1});
  CHECK_ERROR(embedding_backward(be, dtable.view(), rows.cview(), negative.cview()),
              "embedding_backward: ids value -1 at position 2");

  const dtensor logits({2, 3});
  dtensor losses({2}), probs({2, 3});
  const tensor<std::int32_t> targets = int_tensor({2}, {3, -100});
  CHECK_ERROR(cross_entropy_forward(be, losses.view(), probs.view(), logits.cview(), targets.cview(), -100),
              "cross_entropy_forward: targets value 3 at position 0 is out of range [0, 3)");
  const tensor<std::int32_t> ignored_elsewhere = int_tensor({2}, {1, -100});
  CHECK_ERROR(cross_entropy_forward(be, losses.view(), probs.view(), logits.cview(), ignored_elsewhere.cview(), -1),
              "targets value -100 at position 1");

  const dtensor q({2, 1, 2}), kv({3, 1, 2});
  dtensor att_out({2, 1, 2}), lse({2, 1});
  const tensor<std::int32_t> past_end = int_tensor({2, 2}, {0, 1, 1, 4});
  CHECK_ERROR(attention_forward(be, att_out.view(), lse.view(), q.cview(), kv.cview(), kv.cview(), past_end.cview(), 1.0),
              "attention_forward: kv_range of query 1 is [1, 4)");
  const tensor<std::int32_t> reversed = int_tensor({2, 2}, {2, 1, 0, 1});
  CHECK_ERROR(attention_forward(be, att_out.view(), lse.view(), q.cview(), kv.cview(), kv.cview(), reversed.cview(), 1.0),
              "kv_range of query 0 is [2, 1)");

  const dtensor seq({4, 2});
  dtensor pooled({2, 2});
  tensor<std::int32_t> argmax({2, 2});
  const tensor<std::int32_t> decreasing = int_tensor({3}, {0, 3, 2});
  CHECK_ERROR(segment_maxpool_forward(be, pooled.view(), argmax.view(), seq.cview(), decreasing.cview()),
              "segment_maxpool_forward: offsets decrease at position 2");
  const tensor<std::int32_t> beyond = int_tensor({3}, {0, 2, 5});
  CHECK_ERROR(segment_maxpool_forward(be, pooled.view(), argmax.view(), seq.cview(), beyond.cview()),
              "offset 5 at position 2 is outside [0, 4]");
  dtensor dseq({4, 2});
  const tensor<std::int32_t> bad_slot = int_tensor({2, 2}, {0, 4, -1, 1});
  CHECK_ERROR(segment_maxpool_backward(be, dseq.view(), pooled.cview(), bad_slot.cview()),
              "segment_maxpool_backward: argmax value 4 at position 1");
}

TEST_CASE("bad input: hyper-parameters") {
  xtensor_backend be;
  dtensor x({2, 2}), y({2, 2}), m({2, 2}), v({2, 2});
  CHECK_ERROR(dropout_forward(be, y.view(), x.cview(), 1.0f, 1), "dropout_forward: probability 1 is outside [0, 1)");
  CHECK_ERROR(adamw_step(be, x.view(), y.cview(), m.view(), v.view(), adamw_params{}, 0), "adamw_step: step 0 must be >= 1");
  dtensor img({1, 1, 3, 3}), kernel({1, 1, 2, 2}), img_out({1, 1, 2, 2});
  CHECK_ERROR(conv2d_forward(be, img_out.view(), img.cview(), kernel.cview(), const_view<double>(), conv2d_params{0, 0}),
              "conv2d_forward: stride 0 and padding 0 are invalid");
}

TEST_CASE("empty tensors: missing inputs are errors, zero-row inputs are no-ops") {
  xtensor_backend be;
  dtensor out({2, 3}), weight({3}), rstd({2});
  CHECK_ERROR(rmsnorm_forward(be, out.view(), rstd.view(), const_view<double>(), weight.cview(), 1e-5),
              "rmsnorm_forward: input has rank 0");
  CHECK_ERROR(softmax_forward(be, out.view(), const_view<double>()), "softmax_forward: input has rank 0");

  dtensor none_in({0, 3}), none_out({0, 3}), none_stat({0});
  rmsnorm_forward(be, none_out.view(), none_stat.view(), none_in.cview(), weight.cview(), 1e-5);
  softmax_forward(be, none_out.view(), none_in.cview());
  const dtensor table({4, 3});
  embedding_forward(be, none_out.view(), tensor<std::int32_t>(shape_t{0}).cview(), table.cview());
  dtensor losses({0});
  CHECK(cross_entropy_forward(be, losses.view(), none_out.view(), none_in.cview(), tensor<std::int32_t>(shape_t{0}).cview(),
                              -1) == 0);
  dtensor dweight = prefilled_grad({3});
  rmsnorm_backward(be, tensor_view<double>(), dweight.view(), none_out.cview(), none_in.cview(), weight.cview(),
                   none_stat.cview());
  CHECK(dweight[0] == grad_prefill);
}
