#pragma once
// Direct convolution kernels shared by conv2d and conv_transpose2d (NCHW). Two tensors are related by a
// weight w[Cy, Cx, Kh, Kw]: the "x side" (Hx, Wx) and the "y side" (Hy, Wy) with x row = y row * stride -
// padding + kh. conv2d maps x = input to y = output; conv_transpose2d, its adjoint, maps y = input to x = output.
// Every kernel gathers (one thread or block per written element), so no atomics are needed.
#include <cstdint>

#include "patchzoo/backend/cuda/device/grid.cuh"
#include "patchzoo/backend/cuda/device/reduce.cuh"

namespace patchzoo::cuda_device {

struct conv_geometry {
  std::int64_t n, cx, hx, wx, cy, hy, wy;
  int kh, kw, stride, padding;
};

// y[n, cy, oy, ox] (= or +=) bias[cy] + sum over cx, kh, kw of x[n, cx, oy*s-p+kh, ox*s-p+kw] w[cy, cx, kh, kw].
__global__ void conv_to_y_kernel(float* y, const float* x, const float* w, const float* bias, conv_geometry g,
                                 bool accumulate) {
  const std::int64_t total = g.n * g.cy * g.hy * g.wy;
  for (std::int64_t idx = global_thread(); idx < total; idx += grid_threads()) {
    const std::int64_t ox = idx % g.wy, oy = (idx / g.wy) % g.hy, cy = (idx / (g.wy * g.hy)) % g.cy,
                       n = idx / (g.wy * g.hy * g.cy);
    float acc = bias ? bias[cy] : 0.0f;
    for (std::int64_t cx = 0; cx < g.cx; ++cx)
      for (int kh = 0; kh < g.kh; ++kh) {
        const std::int64_t row = oy * g.stride - g.padding + kh;
        if (row < 0 || row >= g.hx) continue;
        for (int kw = 0; kw < g.kw; ++kw) {
          const std::int64_t col = ox * g.stride - g.padding + kw;
          if (col < 0 || col >= g.wx) continue;
          acc += x[((n * g.cx + cx) * g.hx + row) * g.wx + col] * w[((cy * g.cx + cx) * g.kh + kh) * g.kw + kw];
        }
      }
    y[idx] = accumulate ? y[idx] + acc : acc;
  }
}

// x[n, cx, r, c] (= or +=) bias[cx] + sum over cy, kh, kw with r = oy*s-p+kh, c = ox*s-p+kw of y[n, cy, oy, ox] w.
__global__ void conv_to_x_kernel(float* x, const float* y, const float* w, const float* bias, conv_geometry g,
                                 bool accumulate) {
  const std::int64_t total = g.n * g.cx * g.hx * g.wx;
  for (std::int64_t idx = global_thread(); idx < total; idx += grid_threads()) {
    const std::int64_t c = idx % g.wx, r = (idx / g.wx) % g.hx, cx = (idx / (g.wx * g.hx)) % g.cx,
                       n = idx / (g.wx * g.hx * g.cx);
    float acc = bias ? bias[cx] : 0.0f;
    for (int kh = 0; kh < g.kh; ++kh) {
      const std::int64_t ty = r + g.padding - kh;
      if (ty < 0 || ty % g.stride != 0 || ty / g.stride >= g.hy) continue;
      for (int kw = 0; kw < g.kw; ++kw) {
        const std::int64_t tx = c + g.padding - kw;
        if (tx < 0 || tx % g.stride != 0 || tx / g.stride >= g.wy) continue;
        for (std::int64_t cy = 0; cy < g.cy; ++cy)
          acc += y[((n * g.cy + cy) * g.hy + ty / g.stride) * g.wy + tx / g.stride] *
                 w[((cy * g.cx + cx) * g.kh + kh) * g.kw + kw];
      }
    }
    x[idx] = accumulate ? x[idx] + acc : acc;
  }
}

// One block per weight element: dw[cy, cx, kh, kw] += sum over n, oy, ox of gy[n, cy, oy, ox] x[n, cx, row, col].
__global__ void conv_weight_grad_kernel(float* dw, const float* gy, const float* x, conv_geometry g) {
  const std::int64_t widx = blockIdx.x;
  const int kw = static_cast<int>(widx % g.kw), kh = static_cast<int>((widx / g.kw) % g.kh);
  const std::int64_t cx = (widx / (g.kw * g.kh)) % g.cx, cy = widx / (g.kw * g.kh * g.cx);
  float acc = 0.0f;
  const std::int64_t positions = g.n * g.hy * g.wy;
  for (std::int64_t pos = threadIdx.x; pos < positions; pos += blockDim.x) {
    const std::int64_t ox = pos % g.wy, oy = (pos / g.wy) % g.hy, n = pos / (g.wy * g.hy);
    const std::int64_t row = oy * g.stride - g.padding + kh, col = ox * g.stride - g.padding + kw;
    if (row < 0 || row >= g.hx || col < 0 || col >= g.wx) continue;
    acc += gy[((n * g.cy + cy) * g.hy + oy) * g.wy + ox] * x[((n * g.cx + cx) * g.hx + row) * g.wx + col];
  }
  acc = block_sum(acc);
  if (threadIdx.x == 0) dw[widx] += acc;
}

// One block per channel: dbias[c] += sum over n, h, w of dout[n, c, h, w].
__global__ void channel_sums_kernel(float* dbias, const float* dout, std::int64_t n, std::int64_t channels,
                                    std::int64_t plane) {
  const std::int64_t c = blockIdx.x;
  float acc = 0.0f;
  for (std::int64_t i = threadIdx.x; i < n * plane; i += blockDim.x)
    acc += dout[((i / plane) * channels + c) * plane + i % plane];
  acc = block_sum(acc);
  if (threadIdx.x == 0) dbias[c] += acc;
}

}  // namespace patchzoo::cuda_device
