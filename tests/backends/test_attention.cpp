// Eigen vs xtensor range attention: packed causal sequences of very different lengths (several query
// blocks and key chunks), cross-attention with empty ranges, long single-query decoding, strided rows
// from a fused QKV buffer, and head counts that take each of the backward pass's threading paths.
#include <limits>
#include <string>
#include <vector>

#include "backend_pair.hpp"

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

// lse is -inf on empty ranges: both backends must agree on where, and closely elsewhere.
template <class T>
void compare_lse(const tensor<T>& fast, const tensor<T>& ref) {
  auto f = fast.clone(), r = ref.clone();
  for (std::int64_t i = 0; i < r.numel(); ++i) {
    CHECK(std::isinf(f[i]) == std::isinf(r[i]));
    if (std::isinf(r[i])) f[i] = r[i] = T(0);
  }
  compare("attention lse", f, r, "attention");
}

// Runs forward and backward on both backends. q, k, v are slots 0, 1, 2 of fused buffers [T, 3, H, D]
// (k and v from `kv_source` when cross-attending), and so are the gradients.
template <class T>
void check_attention(const std::string& what, std::int64_t tq, std::int64_t tk, std::int64_t heads, std::int64_t d,
                     const tensor<std::int32_t>& ranges, std::uint64_t seed, bool all_grads = true) {
  INFO(what);
  backend_pair be;
  const T scale = static_cast<T>(1.0 / std::sqrt(static_cast<double>(d)));
  auto qbuf = random_tensor<T>(shape_t{tq, 3, heads, d}, seed, -2.0, 2.0);
  auto kvbuf = random_tensor<T>(shape_t{tk, 3, heads, d}, seed + 1, -2.0, 2.0);
  const const_view<T> q = fused_slot(qbuf, 0), k = fused_slot(kvbuf, 1), v = fused_slot(kvbuf, 2);
  tensor<T> out_r(shape_t{tq, heads, d}), out_f(shape_t{tq, heads, d});
  tensor<T> lse_r(shape_t{tq, heads}), lse_f(shape_t{tq, heads});
  attention_forward(be.ref, out_r.view(), lse_r.view(), q, k, v, ranges.cview(), scale);
  attention_forward(be.fast, out_f.view(), lse_f.view(), q, k, v, ranges.cview(), scale);
  compare("attention out", out_f, out_r, "attention");
  compare_lse(lse_f, lse_r);

  const auto dout = random_tensor<T>(shape_t{tq, heads, d}, seed + 2);
  const auto dq0 = random_tensor<T>(shape_t{tq, 3, heads, d}, seed + 3);
  const auto dkv0 = random_tensor<T>(shape_t{tk, 3, heads, d}, seed + 4);
  auto dq_r = dq0.clone(), dq_f = dq0.clone(), dkv_r = dkv0.clone(), dkv_f = dkv0.clone();
  const auto grads = [&](tensor<T>& dqb, tensor<T>& dkvb) {
    return std::array<tensor_view<T>, 3>{fused_slot(dqb, 0), all_grads ? fused_slot(dkvb, 1) : tensor_view<T>{},
                                         all_grads ? fused_slot(dkvb, 2) : tensor_view<T>{}};
  };
  const auto gr = grads(dq_r, dkv_r), gf = grads(dq_f, dkv_f);
  attention_backward(be.ref, gr[0], gr[1], gr[2], dout.cview(), q, k, v, out_r.cview(), lse_r.cview(), ranges.cview(),
                     scale);
  attention_backward(be.fast, gf[0], gf[1], gf[2], dout.cview(), q, k, v, out_r.cview(), lse_r.cview(), ranges.cview(),
                     scale);
  // Whole fused buffers: the slots a pass must not touch are compared too.
  compare("attention dq buffer", dq_f, dq_r, "attention");
  compare("attention dk/dv buffer", dkv_f, dkv_r, "attention");
}

}  // namespace

TEST_CASE_TEMPLATE("backends agree: packed causal attention, 4 heads (heads split across threads)", T, PZ_REAL_TYPES) {
  const auto ranges = packed_causal({1, 17, 64, 100, 300});
  check_attention<T>("packed causal H=4", ranges.dim(0), ranges.dim(0), 4, 32, ranges, 100);
}

TEST_CASE_TEMPLATE("backends agree: packed causal attention, 3 heads (private dk/dv per thread)", T, PZ_REAL_TYPES) {
  const auto ranges = packed_causal({64, 1, 17, 130});
  check_attention<T>("packed causal H=3", ranges.dim(0), ranges.dim(0), 3, 16, ranges, 200);
}

TEST_CASE_TEMPLATE("backends agree: tiny attention runs single-threaded", T, PZ_REAL_TYPES) {
  const auto ranges = packed_causal({2, 3});
  check_attention<T>("tiny", 5, 5, 2, 8, ranges, 300);
}

TEST_CASE_TEMPLATE("backends agree: cross-attention with empty and overlapping ranges", T, PZ_REAL_TYPES) {
  const std::int64_t tq = 90, tk = 600;
  std::vector<std::int32_t> r;
  rng_stream rng(7);
  for (std::int64_t i = 0; i < tq; ++i) {
    std::int32_t a = static_cast<std::int32_t>(rng.below(tk + 1)), b = static_cast<std::int32_t>(rng.below(tk + 1));
    if (i % 9 == 4) b = a;  // an empty range
    r.push_back(std::min(a, b));
    r.push_back(std::max(a, b));
  }
  const auto ranges = int_tensor(shape_t{tq, 2}, r);
  check_attention<T>("cross H=2", tq, tk, 2, 24, ranges, 400);
  check_attention<T>("cross H=2 dq only", tq, tk, 2, 24, ranges, 500, false);
}

TEST_CASE_TEMPLATE("backends agree: decoding queries over a long KV cache", T, PZ_REAL_TYPES) {
  const std::int64_t tq = 3, tk = 1000;
  const auto ranges = int_tensor(shape_t{tq, 2}, {0, 998, 0, 999, 0, 1000});
  check_attention<T>("decode H=5", tq, tk, 5, 64, ranges, 600);
}

// One query per sequence over a shared cache (lockstep decoding): the queries of a block see disjoint
// ranges, so the fast backend takes them one row at a time; an empty range and a full one included.
TEST_CASE_TEMPLATE("backends agree: lockstep decoding, one query per sequence of a shared cache", T, PZ_REAL_TYPES) {
  const std::int64_t sequences = 70, slots = 40;  // 70 queries: a sparse block of 64 and one of 6
  std::vector<std::int32_t> r;
  for (std::int64_t i = 0; i < sequences; ++i) {
    const auto begin = static_cast<std::int32_t>(i * slots);
    const auto length = static_cast<std::int32_t>(i == 3 ? 0 : i == 5 ? slots : 1 + (7 * i) % slots);
    r.push_back(begin);
    r.push_back(begin + length);
  }
  const auto ranges = int_tensor(shape_t{sequences, 2}, r);
  check_attention<T>("lockstep H=2", sequences, sequences * slots, 2, 32, ranges, 700);
}

// The same at head_dim 64 (LlamaGen's) and three heads, with ranges of 0 to 70 keys.
TEST_CASE_TEMPLATE("backends agree: lockstep decoding at head_dim 64, ranges of 0 to 70 keys", T, PZ_REAL_TYPES) {
  const std::int64_t sequences = 24, slots = 70;
  const std::int32_t lengths[] = {0, 1, 2, 15, 16, 17, 31, 32, 33, 47, 64, 70};
  std::vector<std::int32_t> r;
  for (std::int64_t i = 0; i < sequences; ++i) {
    const auto begin = static_cast<std::int32_t>(i * slots);
    r.push_back(begin);
    r.push_back(begin + lengths[i % 12]);
  }
  const auto ranges = int_tensor(shape_t{sequences, 2}, r);
  check_attention<T>("lockstep H=3 D=64", sequences, sequences * slots, 3, 64, ranges, 800);
}

// Every head size of the eigen backend's register kernel (16, 32, 64, 128) with heads that divide its 16
// dot products (1, 2, 4, 8) and one that does not (3), keys left over after its blocks included.
TEST_CASE_TEMPLATE("backends agree: lockstep decoding at every head size of the vector kernel", T, PZ_REAL_TYPES) {
  const std::int64_t sequences = 12, slots = 70;
  const std::int32_t lengths[] = {0, 1, 2, 7, 8, 9, 15, 16, 17, 33, 64, 70};
  std::vector<std::int32_t> r;
  for (std::int64_t i = 0; i < sequences; ++i) {
    r.push_back(static_cast<std::int32_t>(i * slots));
    r.push_back(static_cast<std::int32_t>(i * slots) + lengths[i]);
  }
  const auto ranges = int_tensor(shape_t{sequences, 2}, r);
  const std::int64_t shapes[][2] = {{8, 16}, {4, 32}, {2, 64}, {1, 128}, {3, 32}};
  std::uint64_t seed = 900;
  for (const auto& hd : shapes) {
    const std::int64_t heads = hd[0], dim = hd[1];
    check_attention<T>("lockstep H=" + std::to_string(heads) + " D=" + std::to_string(dim), sequences,
                       sequences * slots, heads, dim, ranges, seed++);
  }
}
