// The one number formatter: shortest text that reads back as the same value of its type.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "patchzoo/core/number_text.hpp"

using namespace patchzoo;

TEST_CASE("number text: shortest round-trip text of doubles, floats and integers") {
  CHECK(shortest_text(1.5) == "1.5");
  CHECK(shortest_text(0.1) == "0.1");
  CHECK(shortest_text(0.1f) == "0.1");  // a float as a float, not as the double it widens to
  CHECK(shortest_text(static_cast<double>(0.1f)) == "0.10000000149011612");
  CHECK(shortest_text(1e-300) == "1e-300");
  CHECK(shortest_text(std::int64_t{-9007199254740993}) == "-9007199254740993");
  std::string out = "[";
  append_shortest_text(out, 2.0);
  append_shortest_text(out, 7);
  CHECK(out == "[27");
}
