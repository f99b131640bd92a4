// Every way a file can be malformed, crafted byte by byte; each must give an error naming the file.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "support/temp_dir.hpp"
#include "patchzoo/io/safetensors.hpp"

using namespace patchzoo;

namespace {

std::string length_prefix(std::uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return s;
}

std::string craft(const std::string& header, const std::string& data) {
  return length_prefix(header.size()) + header + data;
}

// Opens crafted bytes and returns the error message (empty when the file is accepted).
std::string open_error(const std::string& bytes) {
  temp_dir dir;
  const auto file = dir / "bad.safetensors";
  write_file_bytes(file, bytes);
  try {
    safetensors_reader reader(file);
  } catch (const patchzoo::error& e) {
    return e.what();
  }
  return "";
}

const std::string eight_bytes(8, '\x01');

}  // namespace

TEST_CASE("safetensors: a well-formed crafted file is accepted") {
  const std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  CHECK(open_error(craft(header, eight_bytes)) == "");
  CHECK(open_error(craft("{}", "")) == "");
}

TEST_CASE("safetensors: a file shorter than the length prefix") {
  const auto msg = open_error("abc");
  CHECK(msg.find("bad.safetensors") != std::string::npos);
  CHECK(msg.find("file is too short: expected at least 8 bytes for the header length, found 3") != std::string::npos);
  CHECK(open_error("").find("found 0") != std::string::npos);
}

TEST_CASE("safetensors: a header length beyond the file size") {
  const auto msg = open_error(length_prefix(1000) + "{}");
  CHECK(msg.find("bad.safetensors") != std::string::npos);
  CHECK(msg.find("header length is beyond the file size: expected at most 2 bytes after the 8-byte prefix, found 1000") !=
        std::string::npos);
  // A length whose top bit is set must not wrap around in the size arithmetic.
  CHECK(open_error(length_prefix(~std::uint64_t(0)) + "{}").find("header length is beyond") != std::string::npos);
}

TEST_CASE("safetensors: a header that is not valid JSON, or not an object") {
  CHECK(open_error(craft(R"({"a": {"dtype": "F32",)", "")).find("header is not valid JSON") != std::string::npos);
  CHECK(open_error(craft("[1, 2]", "")).find("header must be a JSON object, found array") != std::string::npos);
  CHECK(open_error(craft(R"({"a": 3})", "")).find("tensor 'a': expected an object, found number") != std::string::npos);
  CHECK(open_error(craft(R"({"a": {"dtype": "F32", "shape": [1]}})", ""))
            .find("tensor 'a': missing field \"data_offsets\"") != std::string::npos);
  CHECK(open_error(craft(R"({"__metadata__": {"k": 1}})", ""))
            .find("__metadata__ value for 'k' must be a string, found number") != std::string::npos);
}

TEST_CASE("safetensors: an unknown dtype") {
  const auto msg = open_error(craft(R"({"w":{"dtype":"F8_E4M3","shape":[8],"data_offsets":[0,8]}})", eight_bytes));
  CHECK(msg.find("tensor 'w': unknown dtype 'F8_E4M3', expected one of F32, F64, I32, U8, U16, F16, BF16") !=
        std::string::npos);
  CHECK(msg.find("bad.safetensors") != std::string::npos);
}

TEST_CASE("safetensors: malformed shapes and offsets") {
  CHECK(open_error(craft(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", eight_bytes))
            .find("tensor 'w': shape must hold non-negative integers, found [-2]") != std::string::npos);
  CHECK(open_error(craft(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", eight_bytes))
            .find("tensor 'w': data_offsets must be [begin, end], found [0]") != std::string::npos);
  CHECK(open_error(craft(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", eight_bytes))
            .find("tensor 'w': data_offsets [8, 0] end before they begin") != std::string::npos);
  // 2^62 * 2^62 elements would wrap a 64-bit count to zero bytes.
  CHECK(open_error(craft(R"({"w":{"dtype":"U8","shape":[4611686018427387904,4611686018427387904],"data_offsets":[0,0]}})",
                         ""))
            .find("has too many elements") != std::string::npos);
}

TEST_CASE("safetensors: shape and offsets that disagree (numel * dtype size != end - begin)") {
  const auto msg = open_error(craft(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,8]}})", eight_bytes));
  CHECK(msg.find("tensor 'w': shape [2, 3] of F32 needs 24 bytes, but data_offsets [0, 8] span 8") != std::string::npos);
}

TEST_CASE("safetensors: offsets out of bounds of the data section") {
  const auto msg = open_error(craft(R"({"w":{"dtype":"U8","shape":[100],"data_offsets":[0,100]}})", eight_bytes));
  CHECK(msg.find("tensor 'w': data_offsets [0, 100] are out of bounds of the data section: expected end <= 8, found 100") !=
        std::string::npos);
}

TEST_CASE("safetensors: overlapping tensors and holes between them") {
  const auto overlap = open_error(craft(
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
      eight_bytes));
  CHECK(overlap.find("tensors 'a' [0, 8) and 'b' [4, 8) overlap") != std::string::npos);
  const auto hole = open_error(craft(
      R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[6,8]}})",
      eight_bytes));
  CHECK(hole.find("tensor 'b': expected data to begin at byte 2 of the data section, found 6") != std::string::npos);
}

TEST_CASE("safetensors: a truncated file and trailing bytes are a data section size mismatch") {
  temp_dir dir;
  tensor<float> w(shape_t{4}, {1, 2, 3, 4});
  safetensors_writer writer;
  writer.add("w", w.cview());
  writer.write(dir / "good.safetensors");
  const std::string good = read_file_bytes(dir / "good.safetensors");

  const auto truncated = open_error(good.substr(0, good.size() - 3));
  CHECK(truncated.find("tensor 'w'") != std::string::npos);
  CHECK(truncated.find("expected end <= 13, found 16 (file truncated?)") != std::string::npos);

  const auto trailing = open_error(good + "xyz");
  CHECK(trailing.find("data section size mismatch: the tensors cover 16 bytes, found 19 bytes of data") !=
        std::string::npos);
}

TEST_CASE("safetensors: a missing file is reported with its path") {
  CHECK_THROWS_WITH_AS(safetensors_reader("/nonexistent/dir/x.safetensors"),
                       doctest::Contains("safetensors: /nonexistent/dir/x.safetensors: cannot open"), patchzoo::error);
}
