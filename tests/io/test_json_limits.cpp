// io/json_limits.hpp: the nesting scan every outside JSON passes before nlohmann sees it, and the safe
// forms client values take in error messages.
#include <doctest/doctest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "patchzoo/io/json_limits.hpp"

using namespace patchzoo;

TEST_CASE("json_nesting_depth: brackets in strings and escaped quotes do not count; the scan stops past the limit") {
  CHECK(json_nesting_depth("1") == 0);
  CHECK(json_nesting_depth(R"({"a":[1,{"b":[]}]})") == 4);
  CHECK(json_nesting_depth(R"({"a":"[[[[{{{{","b":"\"[[["})") == 1);
  CHECK(json_nesting_depth(std::string(100000, '['), 64) == 65);  // stops counting at the limit
}

TEST_CASE("parse_json_limited: too deep or invalid JSON names the source") {
  CHECK(parse_json_limited(R"({"a":[1]})", "x.json")["a"][0] == 1);
  CHECK_THROWS_WITH_AS(parse_json_limited(std::string(65, '[') + std::string(65, ']'), "x.json"),
                       "x.json: JSON nested deeper than 64 levels", error);
  CHECK_THROWS_WITH_AS(parse_json_limited("{", "x.json"), doctest::Contains("x.json: invalid JSON: "), error);
  CHECK_THROWS_WITH_AS(parse_json_limited("[1e400]", "x.json"), doctest::Contains("number overflow"), error);
}

TEST_CASE("describe_json_value: containers by size, long scalars cut on a UTF-8 boundary") {
  CHECK(describe_json_value(nlohmann::json::parse("[[1],[2]]")) == "an array of 2 elements");
  CHECK(describe_json_value(nlohmann::json::parse(R"({"a":1})")) == "an object with 1 fields");
  CHECK(describe_json_value(1.5) == "1.5");
  std::string accents;
  for (int i = 0; i < 100; ++i) accents += "\xC3\xA9";  // é, two bytes each
  const std::string cut = describe_json_value(accents);
  CHECK(cut.size() <= 84);
  CHECK(cut.substr(cut.size() - 3) == "...");
  // Still valid UTF-8: quoting it needs no replacement character.
  CHECK(json_quote(cut).find("\xEF\xBF\xBD") == std::string::npos);
}

TEST_CASE("json_quote: invalid UTF-8 becomes U+FFFD instead of throwing") {
  CHECK(json_quote("ok") == "\"ok\"");
  CHECK(json_quote("a\xFF" "b") == "\"a\xEF\xBF\xBD" "b\"");
  CHECK(json_quote("\xC3\x28") == "\"\xEF\xBF\xBD(\"");
}
