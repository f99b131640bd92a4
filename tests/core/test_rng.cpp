// The counter-based Philox RNG: known answer, determinism, distinct streams, ranges and moments.
#include <doctest/doctest.h>

#include <cmath>
#include <set>

#include "patchzoo/core/rng.hpp"

using namespace patchzoo;

TEST_CASE("philox4x32-10: the Random123 known-answer vector for zero key and counter") {
  const philox_block b = philox4x32(0, 0);
  CHECK(b.v[0] == 0x6627e8d5u);
  CHECK(b.v[1] == 0xe169c58du);
  CHECK(b.v[2] == 0xbc57ac4cu);
  CHECK(b.v[3] == 0x9b00dbd8u);
}

TEST_CASE("philox: a pure function of (seed, counter); seeds and counters give distinct streams") {
  for (std::uint64_t i = 0; i < 16; ++i) {
    CHECK(philox4x32(42, i).v[0] == philox4x32(42, i).v[0]);
    CHECK(uniform01(42, i) == uniform01(42, i));
  }
  std::set<std::uint32_t> seen;
  for (std::uint64_t seed : {0ull, 1ull, 42ull, 1ull << 32, ~0ull})
    for (std::uint64_t counter : {0ull, 1ull, 2ull, 1ull << 32, (1ull << 32) + 1})
      seen.insert(philox4x32(seed, counter).v[0]);
  CHECK(seen.size() == 25);  // both halves of the seed and of the counter matter

  int same = 0;
  for (std::uint64_t i = 0; i < 1000; ++i) same += uniform01(1, i) == uniform01(2, i);
  CHECK(same < 5);
}

TEST_CASE("uniform01_packed: four consecutive elements per Philox block") {
  const philox_block b = philox4x32(9, 5);
  for (std::uint64_t w = 0; w < 4; ++w)
    CHECK(uniform01_packed(9, 4 * 5 + w) == static_cast<float>(b.v[w] >> 8) * (1.0f / 16777216.0f));
  CHECK(uniform01_packed(9, 4 * 5) != uniform01_packed(9, 4 * 5 + 1));
  CHECK(uniform01_packed(9, 4 * 5 + 4) == static_cast<float>(philox4x32(9, 6).v[0] >> 8) * (1.0f / 16777216.0f));
}

TEST_CASE("rng_stream draws the same values as the indexed functions") {
  rng_stream s(7, 100);
  for (std::uint64_t i = 100; i < 110; ++i) CHECK(s.uniform() == uniform01(7, i));
  CHECK(s.counter() == 110);
  CHECK(s.normal() == normal01(7, 110));
  CHECK(s.next_u32() == philox4x32(7, 111).v[0]);
  CHECK(s.seed() == 7);
}

TEST_CASE("uniform01 lies in [0, 1) with mean 1/2; below(n) < n; normal01 has mean 0, variance 1") {
  constexpr int n = 20000;
  double sum = 0.0, lo = 1.0, hi = 0.0;
  for (std::uint64_t i = 0; i < n; ++i) {
    const float u = uniform01(3, i);
    lo = std::min(lo, static_cast<double>(u));
    hi = std::max(hi, static_cast<double>(u));
    sum += u;
  }
  CHECK(lo >= 0.0);
  CHECK(hi < 1.0);
  CHECK(sum / n == doctest::Approx(0.5).epsilon(0.02));

  rng_stream s(5);
  std::set<std::uint64_t> values;
  for (int i = 0; i < 1000; ++i) {
    const std::uint64_t v = s.below(6);
    CHECK(v < 6);
    values.insert(v);
  }
  CHECK(values.size() == 6);

  double mean = 0.0, sq = 0.0;
  for (std::uint64_t i = 0; i < n; ++i) {
    const double z = normal01(11, i);
    mean += z;
    sq += z * z;
  }
  mean /= n;
  CHECK(std::abs(mean) < 0.03);
  CHECK(sq / n - mean * mean == doctest::Approx(1.0).epsilon(0.05));
}
