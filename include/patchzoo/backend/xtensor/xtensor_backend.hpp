#pragma once
// The reference backend: plain, obviously-right loops over xtensor adaptors of the views.
// It is the oracle every other backend is tested against, and runs in double for gradient checks.
#include <string_view>

#include "patchzoo/backend/concepts.hpp"

namespace patchzoo {

struct xtensor_backend {
  static constexpr std::string_view name = "xtensor";
  using memory = host_memory;
  void synchronize() {}
};

}  // namespace patchzoo

#include "patchzoo/backend/xtensor/ops.hpp"
