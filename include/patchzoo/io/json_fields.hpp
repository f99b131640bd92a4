#pragma once
// Typed reads of fields of untrusted JSON. nlohmann's get<>() converts silently (1.5 to the integer 1,
// 2^40 to a truncated int, -1 to a huge unsigned) and throws its own exception types; these check type
// and range first and throw a patchzoo::error "<where> field '<key>' ..." naming the file and the field.
// `where` says whose field it is, e.g. "zoo manifest: zoo/zoo.json: model 0 ('a')".
#include <concepts>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>

#include <nlohmann/json.hpp>

#include "patchzoo/core/error.hpp"
#include "patchzoo/io/json_limits.hpp"

namespace patchzoo {

// object[key]; throws "<where> is missing field '<key>'".
inline const nlohmann::json& json_member(const nlohmann::json& object, const char* key, const std::string& where) {
  if (!object.is_object()) throw error(where + " must be a JSON object, found " + describe_json_value(object));
  const auto it = object.find(key);
  if (it == object.end()) throw error(where + " is missing field '" + key + "'");
  return *it;
}

namespace json_fields_detail {
[[noreturn]] inline void wrong_type(const std::string& where, const char* key, const char* expected,
                                    const nlohmann::json& value) {
  throw error(where + " field '" + key + "' has the wrong type: expected " + expected + ", found " +
              describe_json_value(value));
}
}  // namespace json_fields_detail

// An integer field in [lo, hi]; a float (even 3.0), a string or an out-of-range value is an error.
template <std::integral I>
I json_int_field(const nlohmann::json& object, const char* key, const std::string& where,
                 I lo = std::numeric_limits<I>::min(), I hi = std::numeric_limits<I>::max()) {
  const auto& v = json_member(object, key, where);
  if (!v.is_number_integer()) json_fields_detail::wrong_type(where, key, "an integer", v);
  // nlohmann keeps non-negative integers as uint64 and negative ones as int64: compare each as it is.
  const auto checked = [&](auto n) {
    if (std::cmp_less(n, lo) || std::cmp_greater(n, hi))
      throw error(detail::concat(where, " field '", key, "' must be an integer in [", +lo, ", ", +hi, "], found ",
                                 describe_json_value(v)));
    return static_cast<I>(n);
  };
  return v.is_number_unsigned() ? checked(v.get<std::uint64_t>()) : checked(v.get<std::int64_t>());
}

// A field of type V: std::string, a floating-point number (integers accepted), an integer over V's whole
// range, or the raw JSON value.
template <class V>
V json_field(const nlohmann::json& object, const char* key, const std::string& where) {
  if constexpr (std::is_same_v<V, nlohmann::json>) {
    return json_member(object, key, where);
  } else if constexpr (std::is_same_v<V, std::string>) {
    const auto& v = json_member(object, key, where);
    if (!v.is_string()) json_fields_detail::wrong_type(where, key, "a string", v);
    return v.get<std::string>();
  } else if constexpr (std::is_floating_point_v<V>) {
    const auto& v = json_member(object, key, where);
    if (!v.is_number()) json_fields_detail::wrong_type(where, key, "a number", v);
    return v.get<V>();
  } else {
    static_assert(std::is_integral_v<V> && !std::is_same_v<V, bool>, "json_field: unsupported type");
    return json_int_field<V>(object, key, where);
  }
}

}  // namespace patchzoo
