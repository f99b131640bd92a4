#pragma once
// Per-op tolerances for cross-backend comparisons, kept as data in one table (docs/numerics.md mirrors it).
// A value passes when |got - want| <= abs + rel * |want|.
#include <map>
#include <string>
#include <string_view>

#include "patchzoo/core/error.hpp"

namespace patchzoo::test {

struct tolerance {
  double abs;
  double rel;
};

// float32 results of a fast backend against the xtensor reference run in float32.
inline const std::map<std::string, tolerance, std::less<>>& f32_tolerances() {
  static const std::map<std::string, tolerance, std::less<>> table = {
      {"elementwise", {1e-6, 1e-6}},
      {"reduction", {1e-4, 1e-5}},
      {"matmul", {1e-4, 1e-4}},
      {"bias", {1e-5, 1e-5}},
      {"embedding", {1e-6, 1e-6}},
      {"rmsnorm", {1e-5, 1e-4}},
      {"layernorm", {1e-5, 1e-4}},
      {"activation", {1e-5, 1e-5}},
      {"softmax", {1e-6, 1e-5}},
      {"cross_entropy", {1e-5, 1e-5}},
      {"attention", {2e-5, 1e-4}},
      {"rope", {1e-6, 1e-5}},
      {"conv", {1e-4, 1e-4}},
      {"pool", {1e-6, 1e-6}},
      {"group_norm", {1e-5, 1e-4}},
      {"resample", {1e-6, 1e-6}},
      {"segment_maxpool", {1e-6, 1e-6}},
      {"dropout", {1e-6, 1e-6}},
      {"adamw", {1e-6, 1e-5}},
      {"training_loss", {1e-3, 1e-3}},
      {"model", {1e-5, 1e-3}},
      {"llamagen_import", {5e-4, 5e-4}},
      {"llamagen_vq", {1e-4, 1e-4}},
  };
  return table;
}

inline tolerance f32_tolerance(std::string_view op) {
  const auto& t = f32_tolerances();
  auto it = t.find(op);
  check(it != t.end(), "f32_tolerance", "no tolerance entry for op '", op, "'");
  return it->second;
}

// Central finite differences in double: relative error of analytic vs numeric gradient.
inline constexpr double grad_check_eps = 1e-6;
inline constexpr double grad_check_tol = 1e-6;

}  // namespace patchzoo::test
