#pragma once
// JSON from outside (request bodies, safetensors headers, zoo manifests) is parsed only after a cheap byte
// scan shows its nesting is shallow: nlohmann's dump() and error paths recurse per level, so a body of
// 100k nested arrays would overflow the stack. Every failure is a patchzoo::error naming the source.
#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "patchzoo/core/error.hpp"

namespace patchzoo {

// Deeper than any document patchzoo reads or writes (a zoo manifest nests 5 levels).
inline constexpr int json_max_depth = 64;

// The deepest nesting of [ and { in `text`, brackets inside strings not counted. Stops counting (returns
// max_depth + 1) as soon as the limit is passed, so a hostile body costs one partial scan.
inline int json_nesting_depth(std::string_view text, int max_depth = json_max_depth) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest && (deepest = depth) > max_depth) return deepest;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

// Parses `text`; throws patchzoo::error("<what>: ...") for invalid JSON (with nlohmann's position) or
// nesting deeper than max_depth. `what` names the file or field, e.g. "zoo.json" or "x.safetensors header".
inline nlohmann::json parse_json_limited(std::string_view text, const std::string& what, int max_depth = json_max_depth) {
  if (json_nesting_depth(text, max_depth) > max_depth)
    throw error(detail::concat(what, ": JSON nested deeper than ", max_depth, " levels"));
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw error(detail::concat(what, ": invalid JSON: ", e.what()));
  }
}

// A client- or file-supplied value for an error message: scalars as JSON (invalid UTF-8 replaced, cut to
// `max_chars`), arrays and objects by their size only, never dumped recursively.
inline std::string describe_json_value(const nlohmann::json& value, std::size_t max_chars = 80) {
  if (value.is_array()) return "an array of " + std::to_string(value.size()) + " elements";
  if (value.is_object()) return "an object with " + std::to_string(value.size()) + " fields";
  std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > max_chars) {
    std::size_t cut = max_chars;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // not inside a UTF-8 sequence
    text = text.substr(0, cut) + "...";
  }
  return text;
}

// `text` as a JSON string literal with invalid UTF-8 replaced by U+FFFD (error bodies quote client text).
inline std::string json_quote(std::string_view text) {
  return nlohmann::json(std::string(text)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace patchzoo
