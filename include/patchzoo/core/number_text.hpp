#pragma once
// A number as the shortest text that reads back as the same value of its type (1.5, not 1.500000; a float
// as a float): metadata, descriptions and hand-written JSON then round-trip exactly, with no locale.
#include <charconv>
#include <cstddef>
#include <string>

namespace patchzoo {

template <class T>
void append_shortest_text(std::string& out, T value) {
  char text[32];  // enough for any double, float or 64-bit integer
  const std::to_chars_result written = std::to_chars(text, text + sizeof text, value);
  out.append(text, static_cast<std::size_t>(written.ptr - text));
}

template <class T>
std::string shortest_text(T value) {
  std::string out;
  append_shortest_text(out, value);
  return out;
}

}  // namespace patchzoo
