#pragma once
// Backend-generic layers built on matmul and the bias ops: the GEMM backward and the linear layer
// out = in W^T (+ bias), as in PyTorch's nn.Linear (weight[out_features, in_features]).
#include <type_traits>

#include "patchzoo/backend/concepts.hpp"

namespace patchzoo {

namespace linear_detail {

// Item p of a contiguous rank-3 view, as a rank-2 view.
template <class T>
tensor_view<T> batch_item(const tensor_view<T>& v, std::int64_t p) {
  return tensor_view<T>(v.data + p * v.dim(1) * v.dim(2), shape_t{v.dim(1), v.dim(2)});
}

}  // namespace linear_detail

// How a backward op stores an input gradient: added to what the buffer holds, or written over it (GEMM
// beta 0), which spares the caller a zero fill. Eigen and OpenBLAS still clear C inside the GEMM, so on
// the eigen backend the two cost the same.
enum class gradient_write { accumulate, overwrite };

// Gradients of c = op(a) op(b), accumulated into db and into or over da (either may be empty:
// skipped). With op(a) = A and op(b) = B: dA = dC B^T and dB = A^T dC, each written back through the
// transposes.
template <backend B, real T>
void matmul_backward(B& be, tensor_view<T> da, tensor_view<T> db, const_view<T> dc, const_view<T> a, const_view<T> b,
                     bool trans_a, bool trans_b, gradient_write da_write = gradient_write::accumulate) {
  const char* op = "matmul_backward";
  if (!da.empty()) expect_shape(op, "da", da, a.shape);
  if (!db.empty()) expect_shape(op, "db", db, b.shape);
  // A shared rank-2 b under a batched a: db sums over the batch, so run the batch items one by one.
  if (a.rank() == 3 && b.rank() == 2) {
    expect_rank(op, "dc", dc, 3);
    check(dc.dim(0) == a.dim(0), op, "dc ", dc.shape, " and a ", a.shape, " differ in batch size");
    for (std::int64_t p = 0; p < a.dim(0); ++p) {
      const tensor_view<T> da_p = da.empty() ? tensor_view<T>() : linear_detail::batch_item(da, p);
      matmul_backward(be, da_p, db, linear_detail::batch_item(dc, p), linear_detail::batch_item(a, p), b, trans_a,
                      trans_b, da_write);
    }
    return;
  }
  const T one(1), keep(da_write == gradient_write::accumulate ? 1 : 0);
  if (!da.empty()) {
    if (!trans_a && !trans_b) matmul(be, da, dc, b, false, true, one, keep);       // dC B^T
    else if (!trans_a && trans_b) matmul(be, da, dc, b, false, false, one, keep);  // dC B
    else if (trans_a && !trans_b) matmul(be, da, b, dc, false, true, one, keep);   // (dC B^T)^T = B dC^T
    else matmul(be, da, b, dc, true, true, one, keep);                             // (dC B)^T = B^T dC^T
  }
  if (!db.empty()) {
    if (!trans_a && !trans_b) matmul(be, db, a, dc, true, false, one, one);       // A^T dC
    else if (!trans_a && trans_b) matmul(be, db, dc, a, true, false, one, one);   // (A^T dC)^T = dC^T A
    else if (trans_a && !trans_b) matmul(be, db, a, dc, false, false, one, one);  // op(a)^T = a
    else matmul(be, db, dc, a, true, true, one, one);                             // (a dC)^T = dC^T a^T
  }
}

// A linear layer's weight as models store it ([out, in], applied as x W^T), or a transposed copy of it
// ([in, out], applied as x W) that KV-cached decoding keeps where the backend multiplies few rows faster so
// (nn/transposed_weights.hpp).
template <class T>
struct linear_weight {
  const_view<T> data;
  bool transposed = false;

  linear_weight(const_view<T> stored) : data(stored) {}  // implicit: a stored weight is the common case
  static linear_weight transposed_copy(const_view<T> copy) {
    linear_weight w(copy);
    w.transposed = true;
    return w;
  }
};

// out = in W^T + beta out, through whichever form of W the caller holds.
template <backend B, real T>
void project(B& be, tensor_view<T> out, const_view<T> in, const std::type_identity_t<linear_weight<T>>& weight,
             T beta = T(0)) {
  matmul(be, out, in, weight.data, false, !weight.transposed, T(1), beta);
}

// out[N, O] = in[N, I] weight[O, I]^T + bias[O]; bias may be empty.
template <backend B, real T>
void linear_forward(B& be, tensor_view<T> out, const_view<T> in, const_view<T> weight, const_view<T> bias) {
  const char* op = "linear_forward";
  expect_rank(op, "input", in, 2);
  expect_rank(op, "weight", weight, 2);
  check(in.dim(1) == weight.dim(1), op, "input ", in.shape, " has ", in.dim(1), " features but weight ",
        weight.shape, " expects ", weight.dim(1));
  expect_shape(op, "output", out, shape_t{in.dim(0), weight.dim(0)});
  if (!bias.empty()) expect_shape(op, "bias", bias, shape_t{weight.dim(0)});
  matmul(be, out, in, weight, false, true, T(1), T(0));
  if (!bias.empty()) add_bias(be, out, bias);
}

// Accumulates din = dout W, dweight = dout^T in, dbias = column sums of dout; empty gradients are skipped.
template <backend B, real T>
void linear_backward(B& be, tensor_view<T> din, tensor_view<T> dweight, tensor_view<T> dbias, const_view<T> dout,
                     const_view<T> in, const_view<T> weight) {
  const char* op = "linear_backward";
  expect_rank(op, "input", in, 2);
  expect_rank(op, "weight", weight, 2);
  expect_shape(op, "dout", dout, shape_t{in.dim(0), weight.dim(0)});
  if (!dbias.empty()) expect_shape(op, "dbias", dbias, shape_t{weight.dim(0)});
  matmul_backward(be, din, dweight, dout, in, weight, false, true);
  if (!dbias.empty()) bias_backward(be, dbias, dout);
}

}  // namespace patchzoo
