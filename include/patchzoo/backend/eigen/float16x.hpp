#pragma once
// Sixteen floats as one GCC/Clang vector (one AVX-512 register; two or four narrower ones on other
// targets), for the few-row GEMM kernel that keeps its sums in registers (matmul.hpp). Vectors cross
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

}  // namespace patchzoo::eigen_detail
