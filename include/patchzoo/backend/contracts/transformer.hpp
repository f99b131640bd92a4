#pragma once
// Contracts (shape rules) of the transformer ops. Semantics of each op are in docs/ops.md.
#include "patchzoo/backend/contracts/common.hpp"
#include "patchzoo/backend/op_params.hpp"

namespace patchzoo::contract {

template <class T>
void elementwise(const char* op, const tensor_view<T>& out, const const_view<T>& a) {
  check(out.numel() == a.numel(), op, "output ", out.shape, " and input ", a.shape,
        " have different element counts");
  expect_contiguous(op, "output", out);
  expect_contiguous(op, "input", a);
}

// Returns {batch, M, N, K} for c = op(a) op(b); rank 2, or rank 3 with b optionally rank 2 (shared).
struct matmul_dims {
  std::int64_t batch, m, n, k;
};
template <class T>
matmul_dims matmul(const tensor_view<T>& c, const const_view<T>& a, const const_view<T>& b, bool ta, bool tb) {
  const char* op = "matmul";
  check((a.rank() == 2 || a.rank() == 3) && (b.rank() == 2 || b.rank() == 3) && c.rank() == a.rank(), op,
        "unsupported ranks: c ", c.shape, " a ", a.shape, " b ", b.shape);
  check(b.rank() <= a.rank(), op, "b ", b.shape, " has higher rank than a ", a.shape);
  expect_contiguous(op, "a", a);
  expect_contiguous(op, "b", b);
  expect_contiguous(op, "c", c);
  const int ra = a.rank() - 2, rb = b.rank() - 2;
  const std::int64_t batch = a.rank() == 3 ? a.dim(0) : 1;
  if (b.rank() == 3) check(b.dim(0) == batch, op, "batch sizes differ: a ", a.shape, " b ", b.shape);
  const std::int64_t m = ta ? a.dim(ra + 1) : a.dim(ra);
  const std::int64_t k = ta ? a.dim(ra) : a.dim(ra + 1);
  const std::int64_t kb = tb ? b.dim(rb + 1) : b.dim(rb);
  const std::int64_t n = tb ? b.dim(rb) : b.dim(rb + 1);
  check(k == kb, op, "inner dimensions differ: op(a) is ", m, "x", k, " and op(b) is ", kb, "x", n, " (a ",
        a.shape, ", b ", b.shape, ", transpose ", ta, "/", tb, ")");
  const shape_t expected = c.rank() == 3 ? shape_t{batch, m, n} : shape_t{m, n};
  check(c.shape == expected, op, "output c has shape ", c.shape, ", expected ", expected);
  return {batch, m, n, k};
}

template <class T>
void bias(const char* op, const tensor_view<T>& x, const const_view<T>& b) {
  expect_contiguous(op, "x", x);
  check(b.rank() == 1 && b.dim(0) == x.shape.last(), op, "bias has shape ", b.shape, ", expected [",
        x.shape.last(), "] for x ", x.shape);
}

template <class T>
void embedding(const char* op, const tensor_view<T>& out, const const_view<std::int32_t>& ids,
               const const_view<T>& table) {
  expect_rank(op, "table", table, 2);
  expect_rank(op, "ids", ids, 1);
  expect_shape(op, "output", out, shape_t{ids.dim(0), table.dim(1)});
  expect_contiguous(op, "table", table);
}

// Normalisation over the last dimension of in[N, D]; stats are [N].
template <class T, class W>
void norm(const char* op, const tensor_view<T>& out, const const_view<T>& in, const const_view<W>& weight,
          const tensor_view<T>& stat) {
  expect_rank(op, "input", in, 2);
  expect_contiguous(op, "input", in);
  expect_shape(op, "output", out, in.shape);
  expect_shape(op, "weight", weight, shape_t{in.dim(1)});
  expect_shape(op, "saved statistics", stat, shape_t{in.dim(0)});
}

template <class T>
void swiglu(const char* op, const tensor_view<T>& out, const const_view<T>& gate, const const_view<T>& up) {
  same_shape(op, "gate", gate, "up", up);
  expect_shape(op, "output", out, gate.shape);
  expect_contiguous(op, "gate", gate);
  expect_contiguous(op, "up", up);
  expect_contiguous(op, "output", out);
}

template <class T>
void rowwise(const char* op, const tensor_view<T>& out, const const_view<T>& in) {
  expect_rank(op, "input", in, 2);
  expect_shape(op, "output", out, in.shape);
  expect_contiguous(op, "input", in);
  expect_contiguous(op, "output", out);
}

template <class T>
void cross_entropy(const char* op, const tensor_view<T>& losses, const tensor_view<T>& probs,
                   const const_view<T>& logits, const const_view<std::int32_t>& targets) {
  expect_rank(op, "logits", logits, 2);
  expect_contiguous(op, "logits", logits);
  expect_shape(op, "probs", probs, logits.shape);
  expect_shape(op, "losses", losses, shape_t{logits.dim(0)});
  expect_shape(op, "targets", targets, shape_t{logits.dim(0)});
}

// q[Tq, H, D], k and v [Tk, H, D], kv_range[Tq, 2] = allowed key interval [begin, end) of each query.
template <class T>
void attention(const char* op, const tensor_view<T>& out, const tensor_view<T>& lse, const const_view<T>& q,
               const const_view<T>& k, const const_view<T>& v, const const_view<std::int32_t>& kv_range) {
  rows_strided_heads(op, "q", q);
  rows_strided_heads(op, "k", k);
  rows_strided_heads(op, "v", v);
  rows_strided_heads(op, "output", out);
  check(k.shape == v.shape, op, "k ", k.shape, " and v ", v.shape, " differ");
  check(q.dim(1) == k.dim(1) && q.dim(2) == k.dim(2), op, "q ", q.shape, " and k ", k.shape,
        " differ in heads or head_dim");
  expect_shape(op, "output", out, q.shape);
  expect_shape(op, "lse", lse, shape_t{q.dim(0), q.dim(1)});
  expect_shape(op, "kv_range", kv_range, shape_t{q.dim(0), 2});
}

// x[T, H, D] rotated in place by pair tables cos/sin[T, D/2].
template <class T>
void rope(const char* op, const tensor_view<T>& x, const const_view<T>& cos, const const_view<T>& sin) {
  rows_strided_heads(op, "x", x);
  check(x.dim(2) % 2 == 0, op, "head_dim ", x.dim(2), " of x ", x.shape, " must be even");
  expect_shape(op, "cos table", cos, shape_t{x.dim(0), x.dim(2) / 2});
  expect_shape(op, "sin table", sin, shape_t{x.dim(0), x.dim(2) / 2});
}

// out[S, D] = max over rows offsets[s]..offsets[s+1] of in[T, D].
template <class T>
void segment_maxpool(const char* op, const tensor_view<T>& out, const tensor_view<std::int32_t>& argmax,
                     const const_view<T>& in, const const_view<std::int32_t>& offsets) {
  expect_rank(op, "input", in, 2);
  expect_rank(op, "offsets", offsets, 1);
  check(offsets.dim(0) >= 1, op, "offsets must hold at least one entry");
  expect_shape(op, "output", out, shape_t{offsets.dim(0) - 1, in.dim(1)});
  expect_shape(op, "argmax", argmax, out.shape);
}

inline void dropout_probability(const char* op, float p) {
  check(p >= 0.0f && p < 1.0f, op, "probability ", p, " is outside [0, 1)");
}

template <class T>
void adamw(const tensor_view<T>& param, const const_view<T>& grad, const tensor_view<T>& m,
           const tensor_view<T>& v, const adamw_params& h, std::int64_t step) {
  const char* op = "adamw_step";
  same_shape(op, "param", param, "grad", grad);
  same_shape(op, "param", param, "first moment", m);
  same_shape(op, "param", param, "second moment", v);
  check(step >= 1, op, "step ", step, " must be >= 1 (bias correction)");
  check(h.lr >= 0 && h.beta1 >= 0 && h.beta1 < 1 && h.beta2 >= 0 && h.beta2 < 1 && h.eps > 0, op,
        "invalid hyper-parameters lr ", h.lr, " betas ", h.beta1, "/", h.beta2, " eps ", h.eps);
}

}  // namespace patchzoo::contract
