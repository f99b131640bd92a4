#pragma once
// Numbers kept as text in safetensors metadata. The whole text must be the number ("12abc" is not 12, as
// std::stoll would read it) and reals must be finite; failures are patchzoo errors naming `what`
// (the file and the key), never std::stod's bare "stod".
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

#include "patchzoo/core/error.hpp"

namespace patchzoo {

inline std::int64_t parse_metadata_int(std::string_view text, const std::string& what) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty())
    throw error(what + " = '" + std::string(text.substr(0, 80)) + "' is not a 64-bit integer");
  return value;
}

inline double parse_metadata_real(std::string_view text, const std::string& what) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty() || !std::isfinite(value))
    throw error(what + " = '" + std::string(text.substr(0, 80)) + "' is not a finite number");
  return value;
}

}  // namespace patchzoo
