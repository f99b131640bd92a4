#pragma once
// Every op of the CUDA backend, for float (semantics in docs/ops.md). Plain overloads rather than
// templates: the definitions are compiled once, by nvcc, into patchzoo::cuda (src/cuda/<family>.cu).
// Index tensors (ids, targets, ranges, offsets, argmax) live in device memory like the rest.
#include <cstdint>

#include "patchzoo/backend/op_params.hpp"
#include "patchzoo/core/tensor_view.hpp"

namespace patchzoo {

struct cuda_backend;

// elementwise.cu
void fill(cuda_backend& be, tensor_view<float> x, float value);
void copy(cuda_backend& be, tensor_view<float> dst, const_view<float> src);
void add(cuda_backend& be, tensor_view<float> out, const_view<float> a, const_view<float> b);
void accumulate(cuda_backend& be, tensor_view<float> dst, const_view<float> src, float alpha = 1.0f);
void scale(cuda_backend& be, tensor_view<float> x, float alpha);
double sum(cuda_backend& be, const_view<float> x);
double sum_squares(cuda_backend& be, const_view<float> x);

// matmul.cu (cuBLAS) and bias.cu
void matmul(cuda_backend& be, tensor_view<float> c, const_view<float> a, const_view<float> b, bool trans_a,
            bool trans_b, float alpha = 1.0f, float beta = 0.0f);
void add_bias(cuda_backend& be, tensor_view<float> x, const_view<float> bias);
void bias_backward(cuda_backend& be, tensor_view<float> dbias, const_view<float> dout);

// embedding.cu
void embedding_forward(cuda_backend& be, tensor_view<float> out, const_view<std::int32_t> ids,
                       const_view<float> table);
void embedding_backward(cuda_backend& be, tensor_view<float> dtable, const_view<float> dout,
                        const_view<std::int32_t> ids);

// layout.cu
void row_argmax(cuda_backend& be, tensor_view<std::int32_t> out, const_view<float> in);
void transpose_last2(cuda_backend& be, tensor_view<float> out, const_view<float> in, bool accumulate);

// norm.cu
void rmsnorm_forward(cuda_backend& be, tensor_view<float> out, tensor_view<float> rstd, const_view<float> in,
                     const_view<float> weight, float eps);
void rmsnorm_backward(cuda_backend& be, tensor_view<float> din, tensor_view<float> dweight, const_view<float> dout,
                      const_view<float> in, const_view<float> weight, const_view<float> rstd);
void layernorm_forward(cuda_backend& be, tensor_view<float> out, tensor_view<float> mean, tensor_view<float> rstd,
                       const_view<float> in, const_view<float> weight, const_view<float> bias, float eps);
void layernorm_backward(cuda_backend& be, tensor_view<float> din, tensor_view<float> dweight,
                        tensor_view<float> dbias, const_view<float> dout, const_view<float> in,
                        const_view<float> weight, const_view<float> mean, const_view<float> rstd);

// activation.cu
void silu_forward(cuda_backend& be, tensor_view<float> out, const_view<float> in);
void silu_backward(cuda_backend& be, tensor_view<float> din, const_view<float> dout, const_view<float> in);
void gelu_forward(cuda_backend& be, tensor_view<float> out, const_view<float> in);
void gelu_backward(cuda_backend& be, tensor_view<float> din, const_view<float> dout, const_view<float> in);
void swiglu_forward(cuda_backend& be, tensor_view<float> out, const_view<float> gate, const_view<float> up);
void swiglu_backward(cuda_backend& be, tensor_view<float> dgate, tensor_view<float> dup, const_view<float> dout,
                     const_view<float> gate, const_view<float> up);

// softmax.cu
void softmax_forward(cuda_backend& be, tensor_view<float> out, const_view<float> in);
void softmax_backward(cuda_backend& be, tensor_view<float> din, const_view<float> dout, const_view<float> out);
std::int64_t cross_entropy_forward(cuda_backend& be, tensor_view<float> losses, tensor_view<float> probs,
                                   const_view<float> logits, const_view<std::int32_t> targets,
                                   std::int32_t ignore_index);
void cross_entropy_backward(cuda_backend& be, tensor_view<float> dlogits, const_view<float> probs,
                            const_view<std::int32_t> targets, std::int32_t ignore_index, float scale);

// attention.cu
void attention_forward(cuda_backend& be, tensor_view<float> out, tensor_view<float> lse, const_view<float> q,
                       const_view<float> k, const_view<float> v, const_view<std::int32_t> kv_range, float scale);
void attention_backward(cuda_backend& be, tensor_view<float> dq, tensor_view<float> dk, tensor_view<float> dv,
                        const_view<float> dout, const_view<float> q, const_view<float> k, const_view<float> v,
                        const_view<float> out, const_view<float> lse, const_view<std::int32_t> kv_range,
                        float scale);

// rope.cu
void rope_forward(cuda_backend& be, tensor_view<float> x, const_view<float> cos, const_view<float> sin);
void rope_backward(cuda_backend& be, tensor_view<float> dx, const_view<float> cos, const_view<float> sin);

// segment_maxpool.cu
void segment_maxpool_forward(cuda_backend& be, tensor_view<float> out, tensor_view<std::int32_t> argmax,
                             const_view<float> in, const_view<std::int32_t> offsets);
void segment_maxpool_backward(cuda_backend& be, tensor_view<float> din, const_view<float> dout,
                              const_view<std::int32_t> argmax);

// dropout.cu
void dropout_forward(cuda_backend& be, tensor_view<float> out, const_view<float> in, float p, std::uint64_t seed);
void dropout_backward(cuda_backend& be, tensor_view<float> din, const_view<float> dout, float p, std::uint64_t seed);

// adamw.cu
void adamw_step(cuda_backend& be, tensor_view<float> param, const_view<float> grad, tensor_view<float> m,
                tensor_view<float> v, const adamw_params& hyper, std::int64_t step);

// conv.cu
void conv2d_forward(cuda_backend& be, tensor_view<float> out, const_view<float> in, const_view<float> weight,
                    const_view<float> bias, const conv2d_params& p);
void conv2d_backward(cuda_backend& be, tensor_view<float> din, tensor_view<float> dweight, tensor_view<float> dbias,
                     const_view<float> dout, const_view<float> in, const_view<float> weight, const conv2d_params& p);
void conv_transpose2d_forward(cuda_backend& be, tensor_view<float> out, const_view<float> in,
                              const_view<float> weight, const_view<float> bias, const conv2d_params& p);
void conv_transpose2d_backward(cuda_backend& be, tensor_view<float> din, tensor_view<float> dweight,
                               tensor_view<float> dbias, const_view<float> dout, const_view<float> in,
                               const_view<float> weight, const conv2d_params& p);

// pool.cu
void avgpool2d_forward(cuda_backend& be, tensor_view<float> out, const_view<float> in, const pool2d_params& p);
void avgpool2d_backward(cuda_backend& be, tensor_view<float> din, const_view<float> dout, const pool2d_params& p);
void maxpool2d_forward(cuda_backend& be, tensor_view<float> out, tensor_view<std::int32_t> argmax,
                       const_view<float> in, const pool2d_params& p);
void maxpool2d_backward(cuda_backend& be, tensor_view<float> din, const_view<float> dout,
                        const_view<std::int32_t> argmax);

// group_norm.cu: mean and rstd are [N, groups]
void group_norm_forward(cuda_backend& be, tensor_view<float> out, tensor_view<float> mean, tensor_view<float> rstd,
                        const_view<float> in, const_view<float> weight, const_view<float> bias, int groups,
                        float eps);
void group_norm_backward(cuda_backend& be, tensor_view<float> din, tensor_view<float> dweight,
                         tensor_view<float> dbias, const_view<float> dout, const_view<float> in,
                         const_view<float> weight, const_view<float> mean, const_view<float> rstd, int groups);

// resample.cu
void upsample_nearest2x_forward(cuda_backend& be, tensor_view<float> out, const_view<float> in);
void upsample_nearest2x_backward(cuda_backend& be, tensor_view<float> din, const_view<float> dout);
void pad2d_forward(cuda_backend& be, tensor_view<float> out, const_view<float> in, const pad2d_params& p);
void pad2d_backward(cuda_backend& be, tensor_view<float> din, const_view<float> dout, const pad2d_params& p);

}  // namespace patchzoo
