#pragma once
// Sixteen floats as one GCC/Clang vector (one AVX-512 register; two or four narrower ones on other
// targets), for the kernels that keep their sums in registers: the few-row GEMM (matmul.hpp) and the
// one-query attention (attention.hpp). Vectors cross
// function boundaries only by reference or through memory (vec16): without AVX-512, passing one by value
// has no stable ABI and GCC warns about it.
#include <cstdint>

namespace patchzoo::eigen_detail {

typedef float float16x __attribute__((vector_size(64)));
// The same vector at any float's address: loads and stores through it are unaligned and may alias floats.
typedef float float16x_at __attribute__((vector_size(64), aligned(4), may_alias));
inline constexpr std::int64_t float16x_lanes = 16;

inline const float16x_at* vec16(const float* p) { return reinterpret_cast<const float16x_at*>(p); }
inline float16x_at* vec16(float* p) { return reinterpret_cast<float16x_at*>(p); }

inline float lane_sum(const float16x& v) {
  float sum = 0;
  for (int l = 0; l < float16x_lanes; ++l) sum += v[l];
  return sum;
}

// out[j] = alpha * (the sum of v[j]'s lanes), j < 16: four halving steps, each adding two vectors' lower
// and upper halves of every lane block, leave sum j in lane bitreverse(j); one shuffle puts them in order.
// Some 50 instructions where 16 separate lane sums take about 130.
inline void lane_sums16(const float16x (&v)[16], float alpha, float* out) {
  float16x a[8], b[4], c[2];
  for (int i = 0; i < 8; ++i)
    a[i] = __builtin_shufflevector(v[2 * i], v[2 * i + 1], 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23) +
           __builtin_shufflevector(v[2 * i], v[2 * i + 1], 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
  for (int i = 0; i < 4; ++i)
    b[i] = __builtin_shufflevector(a[2 * i], a[2 * i + 1], 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27) +
           __builtin_shufflevector(a[2 * i], a[2 * i + 1], 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31);
  for (int i = 0; i < 2; ++i)
    c[i] = __builtin_shufflevector(b[2 * i], b[2 * i + 1], 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29) +
           __builtin_shufflevector(b[2 * i], b[2 * i + 1], 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31);
  const float16x sums =
      __builtin_shufflevector(c[0], c[1], 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30) +
      __builtin_shufflevector(c[0], c[1], 1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31);
  *vec16(out) = alpha * __builtin_shufflevector(sums, sums, 0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15);
}

}  // namespace patchzoo::eigen_detail
