// Bad input gives the same patchzoo::error on both backends (the shared contracts), before any work.
#include "backend_pair.hpp"

using namespace patchzoo;
using namespace patchzoo::test;

TEST_CASE("backends reject bad input with the same message") {
  backend_pair be;
  auto a = random_tensor<float>(shape_t{4, 5}, 1), c = random_tensor<float>(shape_t{4, 4}, 2);
  expect_same_error("matmul inner dimensions",
                    [&] { matmul(be.ref, c.view(), a.cview(), a.cview(), false, false); },
                    [&] { matmul(be.fast, c.view(), a.cview(), a.cview(), false, false); });

  const auto table = random_tensor<float>(shape_t{10, 3}, 3);
  const auto ids = int_tensor(shape_t{3}, {1, 10, 2});
  tensor<float> emb(shape_t{3, 3});
  expect_same_error("embedding id out of range",
                    [&] { embedding_forward(be.ref, emb.view(), ids.cview(), table.cview()); },
                    [&] { embedding_forward(be.fast, emb.view(), ids.cview(), table.cview()); });

  tensor<float> qkv = random_tensor<float>(shape_t{4, 3, 2, 8}, 4);
  tensor<float> out(shape_t{4, 2, 8}), lse(shape_t{4, 2});
  const auto bad_ranges = int_tensor(shape_t{4, 2}, {0, 1, 0, 2, 2, 1, 0, 4});
  const const_view<float> q = fused_slot(qkv, 0), k = fused_slot(qkv, 1), v = fused_slot(qkv, 2);
  expect_same_error("attention range with end < begin",
                    [&] { attention_forward(be.ref, out.view(), lse.view(), q, k, v, bad_ranges.cview(), 1.0f); },
                    [&] { attention_forward(be.fast, out.view(), lse.view(), q, k, v, bad_ranges.cview(), 1.0f); });

  const auto logits = random_tensor<float>(shape_t{3, 5}, 5);
  const auto targets = int_tensor(shape_t{3}, {0, 5, -100});
  tensor<float> losses(shape_t{3}), probs(shape_t{3, 5});
  expect_same_error("cross_entropy target out of range",
                    [&] { cross_entropy_forward(be.ref, losses.view(), probs.view(), logits.cview(), targets.cview(), -100); },
                    [&] { cross_entropy_forward(be.fast, losses.view(), probs.view(), logits.cview(), targets.cview(), -100); });

  const auto img = random_tensor<float>(shape_t{1, 3, 8, 8}, 6), w = random_tensor<float>(shape_t{4, 2, 3, 3}, 7);
  tensor<float> conv_out(shape_t{1, 4, 6, 6});
  expect_same_error("conv2d channel mismatch",
                    [&] { conv2d_forward(be.ref, conv_out.view(), img.cview(), w.cview(), const_view<float>{}, {}); },
                    [&] { conv2d_forward(be.fast, conv_out.view(), img.cview(), w.cview(), const_view<float>{}, {}); });

  const auto rows = random_tensor<float>(shape_t{6, 2}, 8);
  const auto offsets = int_tensor(shape_t{3}, {0, 4, 3});
  tensor<float> pooled(shape_t{2, 2});
  tensor<std::int32_t> argmax(shape_t{2, 2});
  expect_same_error("segment offsets decrease",
                    [&] { segment_maxpool_forward(be.ref, pooled.view(), argmax.view(), rows.cview(), offsets.cview()); },
                    [&] { segment_maxpool_forward(be.fast, pooled.view(), argmax.view(), rows.cview(), offsets.cview()); });

  tensor<float> norm_out(shape_t{4, 5}), rstd(shape_t{3});
  const auto weight = random_tensor<float>(shape_t{5}, 9);
  expect_same_error("rmsnorm statistics shape",
                    [&] { rmsnorm_forward(be.ref, norm_out.view(), rstd.view(), a.cview(), weight.cview(), 1e-5f); },
                    [&] { rmsnorm_forward(be.fast, norm_out.view(), rstd.view(), a.cview(), weight.cview(), 1e-5f); });

  tensor<float> dropped(shape_t{4, 5});
  expect_same_error("dropout probability 1",
                    [&] { dropout_forward(be.ref, dropped.view(), a.cview(), 1.0f, 1); },
                    [&] { dropout_forward(be.fast, dropped.view(), a.cview(), 1.0f, 1); });
}
