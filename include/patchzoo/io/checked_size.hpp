#pragma once
// Size arithmetic on numbers read from files. A hostile header can claim dimensions whose product wraps
// around 64 bits to a small size (or to 0, and then a division by zero); these helpers throw a
// patchzoo::error naming what was being sized instead. Sizes are non-negative int64 values throughout.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "patchzoo/core/error.hpp"

namespace patchzoo {

inline constexpr std::int64_t max_size_value = std::numeric_limits<std::int64_t>::max();

namespace checked_size_detail {
template <class... Parts>
[[noreturn]] void fail(std::string_view what, Parts&&... parts) {
  throw error(detail::concat(what, ": ", std::forward<Parts>(parts)...));
}
inline void check_non_negative(std::int64_t v, std::string_view what) {
  if (v < 0) fail(what, "size ", v, " is negative");
}
}  // namespace checked_size_detail

// a * b; throws "<what>: a x b overflows 64-bit size arithmetic".
inline std::int64_t checked_mul(std::int64_t a, std::int64_t b, std::string_view what) {
  checked_size_detail::check_non_negative(a, what);
  checked_size_detail::check_non_negative(b, what);
  if (a != 0 && b > max_size_value / a) checked_size_detail::fail(what, a, " x ", b, " overflows 64-bit size arithmetic");
  return a * b;
}

// a + b; throws "<what>: a + b overflows 64-bit size arithmetic".
inline std::int64_t checked_add(std::int64_t a, std::int64_t b, std::string_view what) {
  checked_size_detail::check_non_negative(a, what);
  checked_size_detail::check_non_negative(b, what);
  if (b > max_size_value - a) checked_size_detail::fail(what, a, " + ", b, " overflows 64-bit size arithmetic");
  return a + b;
}

// An unsigned field (a u64 count) as a size; throws when it does not fit int64.
inline std::int64_t checked_size(std::uint64_t v, std::string_view what) {
  if (v > static_cast<std::uint64_t>(max_size_value))
    checked_size_detail::fail(what, v, " is beyond the largest supported size ", max_size_value);
  return static_cast<std::int64_t>(v);
}

// The element count of `dims`; throws "<what>: has too many elements: ..." on overflow. A zero dimension
// makes the product 0 whatever the others are.
inline std::int64_t checked_product(std::span<const std::int64_t> dims, std::string_view what) {
  for (const auto d : dims) checked_size_detail::check_non_negative(d, what);
  for (const auto d : dims)
    if (d == 0) return 0;
  std::int64_t n = 1;
  for (const auto d : dims) {
    if (d > max_size_value / n) {
      std::string list;
      for (const auto e : dims) list += (list.empty() ? "" : ", ") + std::to_string(e);
      checked_size_detail::fail(what, "has too many elements: the product of [", list, "] exceeds ", max_size_value);
    }
    n *= d;
  }
  return n;
}

}  // namespace patchzoo
