#pragma once
// Mean and sample standard deviation of repeated measurements (seeds, runs): what the reports print as
// "mean +- sd".
#include <cmath>
#include <cstdint>
#include <vector>

#include "patchzoo/core/error.hpp"

namespace patchzoo {

struct mean_and_std {
  double mean = 0;
  double stddev = 0;  // sample standard deviation (n - 1); 0 for a single value
  std::int64_t count = 0;
};

inline mean_and_std mean_std(const std::vector<double>& values) {
  check(!values.empty(), "mean_std", "no values");
  mean_and_std r;
  r.count = static_cast<std::int64_t>(values.size());
  for (const double v : values) {
    check(std::isfinite(v), "mean_std", "value ", v, " is not finite");
    r.mean += v;
  }
  r.mean /= static_cast<double>(r.count);
  if (r.count > 1) {
    double squares = 0;
    for (const double v : values) squares += (v - r.mean) * (v - r.mean);
    r.stddev = std::sqrt(squares / static_cast<double>(r.count - 1));
  }
  return r;
}

}  // namespace patchzoo
