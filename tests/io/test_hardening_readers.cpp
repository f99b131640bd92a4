// Hostile safetensors headers (issue 16): deep nesting, numbers nlohmann cannot hold, and the fuzzer's
// minimized cases. Each must give a patchzoo::error naming the file and the field, never another exception.
// Also the shared size arithmetic (checked_size.hpp) and typed JSON field reads (json_fields.hpp).
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "patchzoo/io/checked_size.hpp"
#include "patchzoo/io/json_fields.hpp"
#include "patchzoo/io/safetensors.hpp"
#include "support/temp_dir.hpp"

using namespace patchzoo;

namespace {

std::string with_length_prefix(const std::string& header, const std::string& data) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((std::uint64_t(header.size()) >> (8 * i)) & 0xff);
  return s + header + data;
}

// Opens a crafted file; returns the patchzoo::error message, "" when accepted. Any other exception fails.
std::string open_error(const std::string& header, const std::string& data = "") {
  temp_dir dir("hostile_safetensors");
  const auto file = dir / "hostile.safetensors";
  write_file_bytes(file, with_length_prefix(header, data));
  try {
    safetensors_reader reader(file);
  } catch (const patchzoo::error& e) {
    const std::string msg = e.what();
    CHECK(msg.find(file.string()) != std::string::npos);
    return msg;
  } catch (const std::exception& e) {
    FAIL("not a patchzoo::error: " << e.what());
  }
  return "";
}

std::string nested(int depth, const std::string& inner = "") {
  return std::string(static_cast<std::size_t>(depth), '[') + inner + std::string(static_cast<std::size_t>(depth), ']');
}

}  // namespace

TEST_CASE("safetensors: 100k nested arrays in shape or dtype fail on depth, not on the stack") {
  const auto deep = nested(100000);
  const auto in_shape = open_error(R"({"w":{"dtype":"F32","shape":)" + deep + R"(,"data_offsets":[0,0]}})");
  CHECK(in_shape.find("header is nested deeper than 64 levels") != std::string::npos);
  const auto in_dtype = open_error(R"({"w":{"dtype":)" + deep + R"(,"shape":[0],"data_offsets":[0,0]}})");
  CHECK(in_dtype.find("header is nested deeper than 64 levels") != std::string::npos);
  // Nesting that parses is described by size, never dumped recursively.
  CHECK(open_error(R"({"w":{"dtype":)" + nested(30, "1") + R"(,"shape":[0],"data_offsets":[0,0]}})")
            .find("tensor 'w': dtype must be a string, found [an array of 1 elements]") != std::string::npos);
  CHECK(open_error(R"({"w":{"dtype":"F32","shape":[)" + nested(30, "1") + R"(],"data_offsets":[0,0]}})")
            .find("tensor 'w': shape must hold non-negative integers, found [an array of 1 elements]") !=
        std::string::npos);
}

TEST_CASE("safetensors: numbers nlohmann cannot hold are a patchzoo error (out_of_range.406 escaped before)") {
  const auto msg = open_error(R"({"w":{"dtype":"F32","shape":[1e400],"data_offsets":[0,4]}})", "abcd");
  CHECK(msg.find("header is not valid JSON") != std::string::npos);
  CHECK(msg.find("number overflow parsing '1e400'") != std::string::npos);
  CHECK(open_error(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,-1e999]}})", "abcd")
            .find("header is not valid JSON") != std::string::npos);
}

TEST_CASE("safetensors: the fuzzer's minimized headers each name the file and the field") {
  struct bad_case {
    std::string header, data, fragment;
  };
  const std::string big = "18446744073709551615";  // 2^64 - 1
  const std::vector<bad_case> cases{
      {R"({"w":{"dtype":"F32","shape":[1]}})", "", "tensor 'w': missing field \"data_offsets\""},
      {R"({"w":{"shape":[1],"data_offsets":[0,4]}})", "abcd", "tensor 'w': missing field \"dtype\""},
      {R"({"w":{"dtype":"F32","data_offsets":[0,4]}})", "abcd", "tensor 'w': missing field \"shape\""},
      {R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4000000000000]}})", "abcd",
       "tensor 'w': shape [1] of F32 needs 4 bytes"},
      {R"({"w":{"dtype":"U8","shape":[1000000000000],"data_offsets":[0,1000000000000]}})", "abcd",
       "tensor 'w': data_offsets [0, 1000000000000] are out of bounds of the data section"},
      {R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", "", "data_offsets must hold non-negative integers, found -4"},
      {R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0.5,4]}})", "abcd",
       "data_offsets must hold non-negative integers, found 0.5"},
      {R"({"w":{"dtype":"F32","shape":[1],"data_offsets":["0",4]}})", "abcd",
       "data_offsets must hold non-negative integers, found \"0\""},
      {R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,)" + big + "]}}", "abcd", "span " + big},
      {R"({"w":{"dtype":"F32","shape":[1],"data_offsets":{"a":0}}})", "abcd",
       "data_offsets must be [begin, end], found an object with 1 fields"},
      {R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,0]}})", "", "shape must hold non-negative integers, found [-2]"},
      {R"({"w":{"dtype":"F32","shape":[2.5],"data_offsets":[0,0]}})", "", "shape must hold non-negative integers, found [2.5]"},
      {R"({"w":{"dtype":"F32","shape":[)" + big + R"(],"data_offsets":[0,0]}})", "",
       "shape must hold non-negative integers"},
      {R"({"w":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]}})", "",
       "tensor 'w': shape: has too many elements: the product of [4294967296, 4294967296] exceeds 9223372036854775807"},
      {R"({"w":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,0]}})", "",
       "tensor 'w': shape: 2305843009213693952 x 8 overflows 64-bit size arithmetic"},
      {R"({"w":{"dtype":7,"shape":[1],"data_offsets":[0,4]}})", "abcd", "tensor 'w': dtype must be a string, found 7"},
      {R"({"w":{"dtype":null,"shape":[1],"data_offsets":[0,4]}})", "abcd", "dtype must be a string, found null"},
      {R"({"w":{"dtype":{"x":[1,2]},"shape":[1],"data_offsets":[0,4]}})", "abcd",
       "dtype must be a string, found an object with 1 fields"},
      {R"({"w":{"dtype":"F32","shape":"1","data_offsets":[0,4]}})", "abcd", "shape must be an array, found \"1\""},
      {R"({"w":[1,2]})", "", "tensor 'w': expected an object, found array"},
      {R"({"__metadata__":[1]})", "", "__metadata__ must be an object, found array"},
      {R"({"__metadata__":{"k":[[1]]}})", "", "__metadata__ value for 'k' must be a string, found array"},
      {"{\"w\":{\"dtype\":\"F\xff\",\"shape\":[1],\"data_offsets\":[0,4]}}", "abcd", "header is not valid JSON"},
      {"{\"w\":{\"dtype\":\"F32\",\"shape\":[\"\xff\"],\"data_offsets\":[0,4]}}", "abcd", "header is not valid JSON"},
      {R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}} trailing)", "abcd", "header is not valid JSON"},
      {"", "", "header is not valid JSON"},
      {"null", "", "header must be a JSON object, found null"},
      {R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}})",
       "abc", "overlap"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.header.substr(0, 200));
    const auto msg = open_error(c.header, c.data);
    CAPTURE(msg);
    CHECK(msg.find(c.fragment) != std::string::npos);
  }
}

TEST_CASE("checked_size: products and sums that would wrap throw, naming what was sized") {
  CHECK(checked_mul(3, 4, "x") == 12);
  CHECK(checked_add(3, 4, "x") == 7);
  CHECK(checked_mul(0, max_size_value, "x") == 0);
  CHECK_THROWS_WITH_AS(checked_mul(std::int64_t{1} << 32, std::int64_t{1} << 31, "file.bin: field count"),
                       "file.bin: field count: 4294967296 x 2147483648 overflows 64-bit size arithmetic", error);
  CHECK_THROWS_WITH_AS(checked_add(max_size_value, 1, "f: total"),
                       "f: total: 9223372036854775807 + 1 overflows 64-bit size arithmetic", error);
  CHECK_THROWS_WITH_AS(checked_mul(-1, 2, "f: dims"), "f: dims: size -1 is negative", error);
  CHECK(checked_size(std::uint64_t{42}, "f") == 42);
  CHECK_THROWS_WITH_AS(checked_size(std::numeric_limits<std::uint64_t>::max(), "f: field count"),
                       doctest::Contains("f: field count: 18446744073709551615 is beyond the largest supported size"),
                       error);

  const std::vector<std::int64_t> fine{2, 3, 4}, zero{0, max_size_value, max_size_value},
      wraps{std::int64_t{1} << 32, std::int64_t{1} << 32};
  CHECK(checked_product(fine, "f") == 24);
  CHECK(checked_product(zero, "f") == 0);
  CHECK(checked_product(std::vector<std::int64_t>{}, "f") == 1);
  CHECK_THROWS_WITH_AS(checked_product(wraps, "g.idx: dimensions"),
                       "g.idx: dimensions: has too many elements: the product of [4294967296, 4294967296] exceeds "
                       "9223372036854775807",
                       error);
}

TEST_CASE("json fields: no silent conversions, errors name the field") {
  const auto j = nlohmann::json::parse(
      R"({"n": 3, "big": 4294967296, "neg": -1, "real": 1.5, "text": "3", "huge": 18446744073709551615, "arr": [[1]]})");
  const std::string where = "zoo.json: model 0";
  CHECK(json_int_field<int>(j, "n", where) == 3);
  CHECK(json_field<double>(j, "n", where) == 3.0);
  CHECK(json_field<std::uint64_t>(j, "huge", where) == std::numeric_limits<std::uint64_t>::max());
  CHECK_THROWS_WITH_AS(json_int_field<int>(j, "big", where),
                       "zoo.json: model 0 field 'big' must be an integer in [-2147483648, 2147483647], found 4294967296",
                       error);
  CHECK_THROWS_WITH_AS(json_field<std::uint64_t>(j, "neg", where), doctest::Contains("field 'neg' must be an integer in [0, "),
                       error);
  CHECK_THROWS_WITH_AS(json_field<std::int64_t>(j, "huge", where),
                       doctest::Contains("field 'huge' must be an integer in [-9223372036854775808, 9223372036854775807]"),
                       error);
  CHECK_THROWS_WITH_AS(json_field<std::int64_t>(j, "real", where),
                       "zoo.json: model 0 field 'real' has the wrong type: expected an integer, found 1.5", error);
  CHECK_THROWS_WITH_AS(json_field<double>(j, "text", where),
                       "zoo.json: model 0 field 'text' has the wrong type: expected a number, found \"3\"", error);
  CHECK_THROWS_WITH_AS(json_field<std::string>(j, "arr", where),
                       "zoo.json: model 0 field 'arr' has the wrong type: expected a string, found an array of 1 elements",
                       error);
  CHECK_THROWS_WITH_AS(json_field<double>(j, "absent", where), "zoo.json: model 0 is missing field 'absent'", error);
  CHECK_THROWS_WITH_AS(json_field<double>(j["arr"], "x", where),
                       "zoo.json: model 0 must be a JSON object, found an array of 1 elements", error);
}
