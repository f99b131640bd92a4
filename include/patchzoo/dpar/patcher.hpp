#pragma once
// DPAR's patcher (arXiv 2512.21867): turns next-token entropies into patch lengths. A patch is a 1-D run of
// raster tokens that opens at a surprising token (H_t > theta), at tokens 0 and 1 (BLT heritage), and in
// the main mode at every row start; runs longer than P_max are cut into P_max chunks, remainder last.
// Whether token t opens a patch depends only on H_t (i.e. on x_<t), so the split is prefix-stable and the
// sampler can call patch_lengths on the prefix n with "include the next token" (total = n + 1).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "patchzoo/core/error.hpp"

namespace patchzoo::dpar {

enum class patching_mode { token, static_length, entropy, entropy_row_boundary };

struct patcher_config {
  patching_mode mode = patching_mode::entropy_row_boundary;
  double threshold = 7.8;         // theta in nats; a token starts a patch iff H_t > theta
  int max_patch_length = 4;       // P_max; 0 = no cap
  int row_width = 16;             // W: grid width (tokens per raster row)
  double static_length = 1.8191;  // p of static mode: patch k covers tokens ceil(k p) .. ceil((k+1) p) - 1
};

namespace detail {

inline void check_patcher_config(const patcher_config& cfg, const char* op) {
  check(cfg.max_patch_length >= 0, op, "max_patch_length ", cfg.max_patch_length, " must be >= 0 (0 = no cap)");
  if (cfg.mode == patching_mode::entropy || cfg.mode == patching_mode::entropy_row_boundary)
    check(!std::isnan(cfg.threshold), op, "threshold is NaN");
  if (cfg.mode == patching_mode::entropy_row_boundary)
    check(cfg.row_width >= 1, op, "row_width ", cfg.row_width, " must be at least 1");
  if (cfg.mode == patching_mode::static_length)
    check(std::isfinite(cfg.static_length) && cfg.static_length >= 1.0, op, "static_length ", cfg.static_length,
          " must be a finite number >= 1");
}

// Appends the run [start, end) as chunks of max_len (0 = one chunk), remainder last: 9 with 4 -> 4, 4, 1.
inline void append_run(std::vector<std::int32_t>& lengths, std::int64_t start, std::int64_t end, int max_len) {
  std::int64_t left = end - start;
  while (left > 0) {
    const std::int64_t chunk = max_len > 0 ? std::min<std::int64_t>(left, max_len) : left;
    lengths.push_back(static_cast<std::int32_t>(chunk));
    left -= chunk;
  }
}

// The images of `entropies` (back to back, `total` values each, as an entropy file holds them).
inline std::int64_t entropy_image_count(std::span<const float> entropies, std::int64_t total, const char* op) {
  check(total >= 1, op, "total ", total, " must be at least 1");
  const auto n = static_cast<std::int64_t>(entropies.size());
  check(n > 0 && n % total == 0, op, "entropies hold ", n, " values, not a positive multiple of total ", total,
        " (images back to back, entropy[i * total + t] = H_t of image i)");
  return n / total;
}

inline std::span<const float> entropy_image(std::span<const float> entropies, std::int64_t total, std::int64_t i) {
  return entropies.subspan(static_cast<std::size_t>(i * total), static_cast<std::size_t>(total));
}

}  // namespace detail

// Patch lengths of the first `total` tokens. entropy[t] = H_t for t = 1..total-1 (entropy[0] is ignored);
// token and static modes do not read entropy. Training: total = T; sampling at step n: total = n + 1.
inline std::vector<std::int32_t> patch_lengths(const patcher_config& cfg, std::span<const float> entropy,
                                               std::int64_t total) {
  constexpr const char* op = "patch_lengths";
  detail::check_patcher_config(cfg, op);
  check(total >= 1, op, "total ", total, " must be at least 1");
  check(total <= std::numeric_limits<std::int32_t>::max(), op, "total ", total, " does not fit int32 lengths");
  std::vector<std::int32_t> lengths;
  switch (cfg.mode) {
    case patching_mode::token:
      lengths.assign(static_cast<std::size_t>(total), 1);
      return lengths;
    case patching_mode::static_length:
      // Integer-valued boundaries ceil(k p); a fractional p gives lengths floor(p) and ceil(p) mixed.
      for (std::int64_t k = 0;; ++k) {
        const auto begin = static_cast<std::int64_t>(std::ceil(static_cast<double>(k) * cfg.static_length));
        if (begin >= total) break;
        const auto end = std::min<std::int64_t>(
            total, static_cast<std::int64_t>(std::ceil(static_cast<double>(k + 1) * cfg.static_length)));
        detail::append_run(lengths, begin, end, cfg.max_patch_length);
      }
      return lengths;
    case patching_mode::entropy:
    case patching_mode::entropy_row_boundary:
      break;
  }
  check(static_cast<std::int64_t>(entropy.size()) >= total, op, "entropy has ", entropy.size(), " values but total is ",
        total, " (entropy[t] = H_t for t < total)");
  const bool row_reset = cfg.mode == patching_mode::entropy_row_boundary;
  std::int64_t run_start = 0;
  for (std::int64_t t = 1; t < total; ++t) {
    const float h = entropy[static_cast<std::size_t>(t)];
    check(!std::isnan(h), op, "entropy H_", t, " is NaN");
    const bool starts = t == 1 || static_cast<double>(h) > cfg.threshold || (row_reset && t % cfg.row_width == 0);
    if (starts) {
      detail::append_run(lengths, run_start, t, cfg.max_patch_length);
      run_start = t;
    }
  }
  detail::append_run(lengths, run_start, total, cfg.max_patch_length);
  return lengths;
}

// Offsets of the patches in the token stream: P + 1 entries, offsets[0] = 0, offsets[P] = total.
inline std::vector<std::int32_t> patch_offsets(const std::vector<std::int32_t>& lengths) {
  std::vector<std::int32_t> offsets(lengths.size() + 1, 0);
  for (std::size_t p = 0; p < lengths.size(); ++p) {
    check(lengths[p] >= 0, "patch_offsets", "patch ", p, " has negative length ", lengths[p]);
    offsets[p + 1] = offsets[p] + lengths[p];
  }
  return offsets;
}

// pi(t): the patch index of every token (a zero-length patch owns no token).
inline std::vector<std::int32_t> patch_ids(const std::vector<std::int32_t>& lengths) {
  std::vector<std::int32_t> ids;
  for (std::size_t p = 0; p < lengths.size(); ++p) {
    check(lengths[p] >= 0, "patch_ids", "patch ", p, " has negative length ", lengths[p]);
    ids.insert(ids.end(), static_cast<std::size_t>(lengths[p]), static_cast<std::int32_t>(p));
  }
  return ids;
}

// Average patch length over a data set, as the paper reports it: tokens / patches over all images (T / M).
// entropies: the images back to back, `total` values each (an entropy file's values); image i is read as
// patch_lengths reads one image.
inline double mean_patch_length(const patcher_config& cfg, std::span<const float> entropies, std::int64_t total) {
  const std::int64_t images = detail::entropy_image_count(entropies, total, "mean_patch_length");
  double patches = 0.0;
  for (std::int64_t i = 0; i < images; ++i)
    patches += static_cast<double>(patch_lengths(cfg, detail::entropy_image(entropies, total, i), total).size());
  return static_cast<double>(total) * static_cast<double>(images) / patches;
}

// Threshold whose mean patch length over `entropies` (laid out as for mean_patch_length) is closest to
// target_mean_length (ties: the larger length). The mean only changes when theta crosses an observed H_t,
// and the patch count is non-increasing in theta, so we bisect over the sorted observed values and return
// the middle of the winning plateau of thresholds (the outer plateaus are taken 1 nat wide).
inline double find_threshold(const patcher_config& base, std::span<const float> entropies, std::int64_t total,
                             double target_mean_length) {
  constexpr const char* op = "find_threshold";
  check(base.mode == patching_mode::entropy || base.mode == patching_mode::entropy_row_boundary, op,
        "the threshold only matters in the entropy modes");
  check(std::isfinite(target_mean_length) && target_mean_length >= 1.0, op, "target mean length ", target_mean_length,
        " must be a finite number >= 1");
  const std::int64_t images = detail::entropy_image_count(entropies, total, op);
  std::vector<double> values;
  for (std::int64_t i = 0; i < images; ++i) {
    const auto image = detail::entropy_image(entropies, total, i);
    for (std::int64_t t = 1; t < total; ++t) {
      check(!std::isnan(image[static_cast<std::size_t>(t)]), op, "entropy H_", t, " of image ", i, " is NaN");
      values.push_back(static_cast<double>(image[static_cast<std::size_t>(t)]));
    }
  }
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  if (values.empty()) return base.threshold;  // total == 1: one patch whatever theta is

  // Plateau i (0..n) holds thresholds in [lo_i, hi_i): below all values for i = 0, else [v_{i-1}, v_i).
  const std::size_t n = values.size();
  const auto plateau_lo = [&](std::size_t i) { return i == 0 ? values.front() - 1.0 : values[i - 1]; };
  const auto plateau_hi = [&](std::size_t i) { return i == n ? values.back() + 1.0 : values[i]; };
  const auto plateau_theta = [&](std::size_t i) { return 0.5 * (plateau_lo(i) + plateau_hi(i)); };
  const auto mean_at = [&](std::size_t i) {
    patcher_config cfg = base;
    cfg.threshold = plateau_theta(i);
    return mean_patch_length(cfg, entropies, total);
  };
  // First plateau whose mean reaches the target (mean is non-decreasing in i).
  std::size_t lo = 0, hi = n + 1;
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo) / 2;
    if (mean_at(mid) >= target_mean_length)
      hi = mid;
    else
      lo = mid + 1;
  }
  if (lo == n + 1) return plateau_theta(n);
  if (lo == 0) return plateau_theta(0);
  const double above = mean_at(lo) - target_mean_length, below = target_mean_length - mean_at(lo - 1);
  return above <= below ? plateau_theta(lo) : plateau_theta(lo - 1);
}

}  // namespace patchzoo::dpar
