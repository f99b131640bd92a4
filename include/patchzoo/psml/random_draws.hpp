#pragma once
// The continuous draws defenses need, all from one request's rng_stream so a decision stays a pure
// function of (seed, request number): a 53-bit uniform, and Laplace and Gaussian noise.
#include <cmath>
#include <cstdint>

#include "patchzoo/core/rng.hpp"

namespace patchzoo::psml {

// Uniform in the open interval (0, 1) with 53 bits from two draws; never exactly 0 or 1, so logs are finite.
inline double open_uniform(rng_stream& rng) {
  const std::uint64_t high = rng.next_u32() >> 5, low = rng.next_u32() >> 6;  // 27 + 26 bits
  return (static_cast<double>((high << 26) | low) + 0.5) * (1.0 / 9007199254740992.0);
}

// Laplace(0, b) by inverting its CDF.
inline double laplace_noise(rng_stream& rng, double b) {
  const double u = open_uniform(rng) - 0.5;
  return b * std::copysign(-std::log1p(-2.0 * std::abs(u)), u);
}

// N(0, sigma^2).
inline double gaussian_noise(rng_stream& rng, double sigma) { return sigma * rng.normal(); }

}  // namespace patchzoo::psml
