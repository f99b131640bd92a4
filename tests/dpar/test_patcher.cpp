// DPAR patcher (arXiv 2512.21867): a worked example, the invariants of the rule
// (sum, cap, rows, forced starts), prefix-stability, monotonicity in theta, the static and token modes,
// the patch-id map, threshold search, and bad input.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <span>
#include <vector>

#include "patchzoo/core/rng.hpp"
#include "patchzoo/dpar/patcher.hpp"

using namespace patchzoo;
using dpar::patch_lengths;
using dpar::patcher_config;
using dpar::patching_mode;
using lengths_t = std::vector<std::int32_t>;

namespace {

// A worked example, computed by hand: W = 4, T = 16, theta = 1.0, P_max = 2; entropy[0] is unused.
const std::vector<float> worked_entropy{0.0f, 9.0f, 0.2f, 0.3f, 0.1f, 0.2f, 1.5f, 0.1f,
                                        0.1f, 0.1f, 0.1f, 0.1f, 2.0f, 0.3f, 0.2f, 0.1f};

patcher_config worked_config(patching_mode mode) {
  patcher_config cfg;
  cfg.mode = mode;
  cfg.threshold = 1.0;
  cfg.max_patch_length = 2;
  cfg.row_width = 4;
  return cfg;
}

// Entropies around theta so that starts are frequent but runs of many tokens still occur.
std::vector<float> random_entropy(std::uint64_t seed, std::int64_t n) {
  std::vector<float> h(static_cast<std::size_t>(n));
  for (std::int64_t t = 0; t < n; ++t)
    h[static_cast<std::size_t>(t)] = static_cast<float>(7.0 + 1.4 * uniform01(seed, static_cast<std::uint64_t>(t)));
  return h;
}

std::int64_t sum(const lengths_t& l) { return std::accumulate(l.begin(), l.end(), std::int64_t{0}); }

}  // namespace

TEST_CASE("patcher: the worked example, with and without row resets") {
  const lengths_t with_rows = patch_lengths(worked_config(patching_mode::entropy_row_boundary), worked_entropy, 16);
  CHECK(with_rows == lengths_t{1, 2, 1, 2, 2, 2, 2, 2, 2});
  CHECK(dpar::patch_offsets(with_rows) == lengths_t{0, 1, 3, 4, 6, 8, 10, 12, 14, 16});

  const lengths_t no_rows = patch_lengths(worked_config(patching_mode::entropy), worked_entropy, 16);
  CHECK(no_rows == lengths_t{1, 2, 2, 1, 2, 2, 2, 2, 2});

  // Without the cap the raw runs show: starts {0,1,4,6,8,12} and {0,1,6,12}.
  patcher_config uncapped = worked_config(patching_mode::entropy_row_boundary);
  uncapped.max_patch_length = 0;
  CHECK(patch_lengths(uncapped, worked_entropy, 16) == lengths_t{1, 3, 2, 2, 4, 4});
  uncapped.mode = patching_mode::entropy;
  CHECK(patch_lengths(uncapped, worked_entropy, 16) == lengths_t{1, 5, 6, 4});
  // Run splitting: 7 -> 4,3 and 9 -> 4,4,1 (P_max = 4, a run that never meets a start).
  patcher_config cap4 = uncapped;
  cap4.max_patch_length = 4;
  cap4.threshold = 100.0;
  CHECK(patch_lengths(cap4, std::vector<float>(10, 0.0f), 8) == lengths_t{1, 4, 3});
  CHECK(patch_lengths(cap4, std::vector<float>(10, 0.0f), 10) == lengths_t{1, 4, 4, 1});
}

TEST_CASE("patcher: lengths sum to total, respect P_max, never span a row, and tokens 0 and 1 start patches") {
  for (std::uint64_t seed = 0; seed < 40; ++seed) {
    patcher_config cfg;
    cfg.row_width = 8 + static_cast<int>(seed % 9);
    cfg.max_patch_length = static_cast<int>(seed % 6);  // includes 0 = no cap
    cfg.threshold = 7.2 + 0.03 * static_cast<double>(seed);
    const std::int64_t total = cfg.row_width * cfg.row_width;
    const std::vector<float> h = random_entropy(seed, total);
    for (auto mode : {patching_mode::entropy_row_boundary, patching_mode::entropy}) {
      cfg.mode = mode;
      const lengths_t l = patch_lengths(cfg, h, total);
      INFO("seed " << seed << " row mode " << (mode == patching_mode::entropy_row_boundary));
      CHECK(sum(l) == total);
      REQUIRE(l.size() >= 2);
      CHECK(l[0] == 1);  // token 1 starts a patch, so patch 0 is {x_0}
      const lengths_t offsets = dpar::patch_offsets(l);
      for (std::size_t p = 0; p < l.size(); ++p) {
        CHECK(l[p] >= 1);
        if (cfg.max_patch_length > 0) CHECK(l[p] <= cfg.max_patch_length);
        if (mode == patching_mode::entropy_row_boundary)
          CHECK(offsets[p] / cfg.row_width == (offsets[p + 1] - 1) / cfg.row_width);
        // Every token above theta is a patch start.
        for (std::int32_t t = offsets[p] + 1; t < offsets[p + 1]; ++t)
          CHECK(h[static_cast<std::size_t>(t)] <= cfg.threshold);
      }
    }
  }
}

TEST_CASE("patcher: prefix-stable, so sampling with 'include the next token' reproduces the training split") {
  for (std::uint64_t seed = 100; seed < 120; ++seed) {
    patcher_config cfg;
    cfg.mode = seed % 2 ? patching_mode::entropy : patching_mode::entropy_row_boundary;
    cfg.max_patch_length = 1 + static_cast<int>(seed % 4);
    cfg.threshold = 7.7;
    const std::int64_t total = 256;
    const std::vector<float> h = random_entropy(seed, total);
    const lengths_t full = patch_lengths(cfg, h, total);
    const lengths_t full_ids = dpar::patch_ids(full);
    const lengths_t full_offsets = dpar::patch_offsets(full);
    for (std::int64_t n = 0; n < total; ++n) {
      // At step n the sampler knows H_1..H_n (entropy of x_n given x_<n) and asks for n + 1 tokens.
      const std::vector<float> prefix(h.begin(), h.begin() + n + 1);
      const lengths_t part = patch_lengths(cfg, prefix, n + 1);
      INFO("seed " << seed << " n " << n);
      REQUIRE(sum(part) == n + 1);
      const lengths_t ids = dpar::patch_ids(part);
      CHECK(std::equal(ids.begin(), ids.end(), full_ids.begin()));
      // Every patch but the last is final; the last is a (possibly truncated) prefix of the full patch.
      for (std::size_t p = 0; p + 1 < part.size(); ++p) CHECK(part[p] == full[p]);
      CHECK(part.back() <= full[part.size() - 1]);
      CHECK(full_offsets[part.size() - 1] == n + 1 - part.back());
    }
  }
}

TEST_CASE("patcher: the number of patches is non-increasing in theta; extremes give all starts / no H starts") {
  const std::int64_t total = 256;
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    const std::vector<float> h = random_entropy(seed, total);
    patcher_config cfg;
    std::size_t previous = static_cast<std::size_t>(total) + 1;
    for (double theta = 6.5; theta <= 8.6; theta += 0.05) {
      cfg.threshold = theta;
      const std::size_t count = patch_lengths(cfg, h, total).size();
      CHECK(count <= previous);
      previous = count;
    }
    cfg.threshold = 0.0;
    CHECK(patch_lengths(cfg, h, total) == lengths_t(static_cast<std::size_t>(total), 1));
    cfg.threshold = 100.0;  // only tokens 0, 1 and row starts: 1, 15, then 16 rows of 16 -> four 4s each
    const lengths_t rows_only = patch_lengths(cfg, h, total);
    CHECK(rows_only.size() == 1 + 4 + 15 * 4);
    CHECK(rows_only[1] == 4);
    CHECK(rows_only[4] == 3);
  }
}

TEST_CASE("patcher: token mode is all ones; static mode 1.8191 gives 2s with an occasional 1, mean ~1.82") {
  patcher_config cfg;
  cfg.mode = patching_mode::token;
  CHECK(patch_lengths(cfg, {}, 7) == lengths_t(7, 1));

  cfg.mode = patching_mode::static_length;
  const lengths_t l = patch_lengths(cfg, {}, 256);  // static mode reads no entropy
  CHECK(sum(l) == 256);
  CHECK(l.size() == 141);  // ceil(140 * 1.8191) = 255 < 256 <= ceil(141 * 1.8191)
  CHECK(std::ranges::all_of(l, [](std::int32_t x) { return x == 1 || x == 2; }));
  const auto ones = std::ranges::count(l, 1);
  CHECK(ones > 0);
  CHECK(ones < 30);
  CHECK(256.0 / static_cast<double>(l.size()) == doctest::Approx(1.8191).epsilon(0.01));
  CHECK(lengths_t(l.begin(), l.begin() + 6) == lengths_t{2, 2, 2, 2, 2, 1});  // 0,2,4,6,8,10 | ceil(5p)=10, ceil(6p)=11
  // No row resets: patches cross rows (one starts at 15 when W = 16).
  const lengths_t offsets = dpar::patch_offsets(l);
  CHECK(std::ranges::any_of(offsets, [](std::int32_t o) { return o % 16 == 15; }));
  cfg.static_length = 2.0;
  CHECK(patch_lengths(cfg, {}, 7) == lengths_t{2, 2, 2, 1});
}

TEST_CASE("patch ids: non-decreasing, consecutive, count of id k equals l_k; offsets bracket them") {
  const lengths_t l = patch_lengths(worked_config(patching_mode::entropy_row_boundary), worked_entropy, 16);
  const lengths_t ids = dpar::patch_ids(l);
  CHECK(ids == lengths_t{0, 1, 1, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8});
  for (std::uint64_t seed = 0; seed < 10; ++seed) {
    patcher_config cfg;
    const lengths_t lens = patch_lengths(cfg, random_entropy(seed, 256), 256);
    const lengths_t pi = dpar::patch_ids(lens);
    const lengths_t off = dpar::patch_offsets(lens);
    REQUIRE(pi.size() == 256);
    CHECK(pi.front() == 0);
    CHECK(pi.back() == static_cast<std::int32_t>(lens.size()) - 1);
    for (std::size_t t = 1; t < pi.size(); ++t) CHECK((pi[t] == pi[t - 1] || pi[t] == pi[t - 1] + 1));
    for (std::size_t k = 0; k < lens.size(); ++k) {
      CHECK(std::ranges::count(pi, static_cast<std::int32_t>(k)) == lens[k]);
      CHECK(pi[static_cast<std::size_t>(off[k])] == static_cast<std::int32_t>(k));
    }
  }
  CHECK(dpar::patch_ids({2, 0, 1}) == lengths_t{0, 0, 2});  // a zero-length (padding) patch owns no token
}

TEST_CASE("find_threshold: bisection lands on the theta whose mean patch length is closest to the target") {
  std::vector<float> images;  // 8 back to back, as an entropy file holds them
  for (std::uint64_t seed = 0; seed < 8; ++seed) {
    const auto image = random_entropy(seed + 50, 256);
    images.insert(images.end(), image.begin(), image.end());
  }
  patcher_config cfg;
  for (double target : {1.3, 1.81, 2.06, 2.5}) {
    const double theta = dpar::find_threshold(cfg, images, 256, target);
    cfg.threshold = theta;
    const double got = dpar::mean_patch_length(cfg, images, 256);
    INFO("target " << target << " theta " << theta << " mean " << got);
    CHECK(std::abs(got - target) < 0.02);
    // No finer theta on a grid does better.
    double best = 1e9;
    for (double t = 6.9; t < 8.5; t += 0.001) {
      patcher_config probe = cfg;
      probe.threshold = t;
      best = std::min(best, std::abs(dpar::mean_patch_length(probe, images, 256) - target));
    }
    CHECK(std::abs(got - target) <= best + 1e-12);
  }
  cfg.threshold = 7.8;
  const double at_78 = dpar::mean_patch_length(cfg, images, 256);
  CHECK(at_78 > 1.0);
  CHECK(at_78 < 4.0);
  // Mean length of the paper's setting on data with H ~ U(7, 8.4): counted as tokens / patches.
  double patches = 0.0;
  for (std::size_t i = 0; i < 8; ++i)
    patches += static_cast<double>(patch_lengths(cfg, std::span(images).subspan(i * 256, 256), 256).size());
  CHECK(at_78 == doctest::Approx(8.0 * 256.0 / patches));
}

TEST_CASE("patcher: bad input gives a clear error") {
  patcher_config cfg;
  const std::vector<float> h(16, 1.0f);
  CHECK_THROWS_WITH_AS(patch_lengths(cfg, h, 0), doctest::Contains("patch_lengths: total 0"), patchzoo::error);
  CHECK_THROWS_WITH_AS(patch_lengths(cfg, h, 17), doctest::Contains("entropy has 16 values but total is 17"),
                       patchzoo::error);
  cfg.threshold = std::nan("");
  CHECK_THROWS_WITH_AS(patch_lengths(cfg, h, 8), doctest::Contains("threshold is NaN"), patchzoo::error);
  cfg.threshold = 7.8;
  cfg.row_width = 0;
  CHECK_THROWS_WITH_AS(patch_lengths(cfg, h, 8), doctest::Contains("row_width 0"), patchzoo::error);
  cfg.row_width = 4;
  cfg.max_patch_length = -1;
  CHECK_THROWS_AS(patch_lengths(cfg, h, 8), patchzoo::error);
  cfg.max_patch_length = 4;
  std::vector<float> with_nan = h;
  with_nan[5] = std::nanf("");
  CHECK_THROWS_WITH_AS(patch_lengths(cfg, with_nan, 8), doctest::Contains("H_5 is NaN"), patchzoo::error);
  CHECK_NOTHROW(patch_lengths(cfg, with_nan, 5));  // H_5 belongs to token 5, outside a 5-token prefix
  cfg.mode = patching_mode::static_length;
  cfg.static_length = 0.5;
  CHECK_THROWS_AS(patch_lengths(cfg, {}, 8), patchzoo::error);
  CHECK_THROWS_AS(dpar::patch_ids({1, -2}), patchzoo::error);
  CHECK_THROWS_AS(dpar::find_threshold(cfg, h, 16, 1.8), patchzoo::error);  // static mode has no theta
  cfg.mode = patching_mode::entropy;
  CHECK_THROWS_AS(dpar::find_threshold(cfg, h, 16, 0.5), patchzoo::error);
  // Images back to back: the values must be whole images of `total` each.
  CHECK_THROWS_WITH_AS(dpar::find_threshold(cfg, h, 12, 1.5),
                       doctest::Contains("entropies hold 16 values, not a positive multiple of total 12"),
                       patchzoo::error);
  CHECK_THROWS_WITH_AS(dpar::mean_patch_length(cfg, {}, 16), doctest::Contains("mean_patch_length: entropies hold 0"),
                       patchzoo::error);
}
