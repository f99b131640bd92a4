#pragma once
// Learning-rate schedules as pure functions of the step (0-based): constant, or linear warmup
// followed by cosine decay to min_lr.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>

#include "patchzoo/core/error.hpp"

namespace patchzoo::training {

struct lr_schedule {
  enum class kind { constant, warmup_cosine };
  kind type = kind::constant;
  double base_lr = 1e-4;
  std::int64_t warmup_steps = 0;
  std::int64_t total_steps = 0;  // warmup_cosine: the step at which min_lr is reached
  double min_lr = 0.0;

  static lr_schedule constant(double lr) { return {kind::constant, lr, 0, 0, lr}; }
  static lr_schedule warmup_cosine(double lr, std::int64_t warmup, std::int64_t total, double min_lr = 0.0) {
    check(warmup >= 0 && total > warmup, "lr_schedule", "warmup ", warmup, " must be below total steps ", total);
    return {kind::warmup_cosine, lr, warmup, total, min_lr};
  }

  double at(std::int64_t step) const {
    if (type == kind::constant) return base_lr;
    if (step < warmup_steps) return base_lr * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
    const double progress = std::min(1.0, static_cast<double>(step - warmup_steps) /
                                              static_cast<double>(total_steps - warmup_steps));
    return min_lr + 0.5 * (base_lr - min_lr) * (1.0 + std::cos(std::numbers::pi * progress));
  }
};

}  // namespace patchzoo::training
