#pragma once
// Counter-based random numbers (Philox4x32-10, Salmon et al. 2011). The value at (seed, counter) is a
// pure function, so every backend, thread count and kernel launch shape draws identical bits.
#include <cmath>
#include <cstdint>

#include "patchzoo/core/host_device.hpp"

namespace patchzoo {

struct philox_block {
  std::uint32_t v[4];
};

PZ_HOST_DEVICE inline philox_block philox4x32(std::uint64_t seed, std::uint64_t counter) {
  constexpr std::uint32_t m0 = 0xD2511F53u, m1 = 0xCD9E8D57u;
  constexpr std::uint32_t w0 = 0x9E3779B9u, w1 = 0xBB67AE85u;
  std::uint32_t c0 = static_cast<std::uint32_t>(counter), c1 = static_cast<std::uint32_t>(counter >> 32);
  std::uint32_t c2 = 0, c3 = 0;
  std::uint32_t k0 = static_cast<std::uint32_t>(seed), k1 = static_cast<std::uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    const std::uint64_t p0 = static_cast<std::uint64_t>(m0) * c0;
    const std::uint64_t p1 = static_cast<std::uint64_t>(m1) * c2;
    const std::uint32_t n0 = static_cast<std::uint32_t>(p1 >> 32) ^ c1 ^ k0;
    const std::uint32_t n2 = static_cast<std::uint32_t>(p0 >> 32) ^ c3 ^ k1;
    c1 = static_cast<std::uint32_t>(p1);
    c3 = static_cast<std::uint32_t>(p0);
    c0 = n0;
    c2 = n2;
    k0 += w0;
    k1 += w1;
  }
  return {{c0, c1, c2, c3}};
}

// A Philox word as a float uniform in [0, 1) from its top 24 bits (exact in a float).
PZ_HOST_DEVICE inline float unit_float24(std::uint32_t word) {
  return static_cast<float>(word >> 8) * (1.0f / 16777216.0f);
}

// Uniform in [0, 1) with 24 bits, from the first word of block `index` of stream `seed`.
PZ_HOST_DEVICE inline float uniform01(std::uint64_t seed, std::uint64_t index) {
  return unit_float24(philox4x32(seed, index).v[0]);
}

// Uniform in [0, 1) with 24 bits for element i of a bulk draw (dropout masks): word i mod 4 of block
// i / 4, so one Philox block serves four consecutive elements, a quarter of uniform01's cost.
PZ_HOST_DEVICE inline float uniform01_packed(std::uint64_t seed, std::uint64_t i) {
  return unit_float24(philox4x32(seed, i >> 2).v[i & 3]);
}

// Standard normal by Box-Muller from the first two words of block `index`.
PZ_HOST_DEVICE inline double normal01(std::uint64_t seed, std::uint64_t index) {
  const philox_block b = philox4x32(seed, index);
  const double u1 = (static_cast<double>(b.v[0]) + 1.0) * (1.0 / 4294967296.0);  // (0, 1]
  const double u2 = static_cast<double>(b.v[1]) * (1.0 / 4294967296.0);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

// A host-side stream over one seed: each draw consumes one counter value.
class rng_stream {
 public:
  explicit rng_stream(std::uint64_t seed, std::uint64_t start = 0) : seed_(seed), counter_(start) {}
  float uniform() { return uniform01(seed_, counter_++); }
  double normal() { return normal01(seed_, counter_++); }
  std::uint32_t next_u32() { return philox4x32(seed_, counter_++).v[0]; }
  // Uniform integer in [0, n) by rejection-free multiply-shift (bias < 2^-32 * n).
  std::uint64_t below(std::uint64_t n) { return (static_cast<std::uint64_t>(next_u32()) * n) >> 32; }
  std::uint64_t seed() const { return seed_; }
  std::uint64_t counter() const { return counter_; }

 private:
  std::uint64_t seed_;
  std::uint64_t counter_;
};

}  // namespace patchzoo
