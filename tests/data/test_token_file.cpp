// Token files: a round trip, and every kind of damage named by file and field.
#include "support/temp_dir.hpp"
#include "patchzoo/data/token_file.hpp"
#include <doctest/doctest.h>

using namespace patchzoo;

namespace {

data::token_file sample() {
  data::token_file f;
  f.grid_h = 2;
  f.grid_w = 3;
  f.codebook_size = 512;
  f.tokens = {0, 1, 511, 7, 300, 2, 9, 8, 7, 6, 5, 256};
  f.labels = {3, 999};  // ImageNet has 1000 classes
  return f;
}

void expect_read_error(const std::filesystem::path& p, const char* fragment) {
  CAPTURE(fragment);
  CHECK_THROWS_WITH_AS(data::read_token_file(p), doctest::Contains(fragment), patchzoo::error);
  CHECK_THROWS_WITH_AS(data::read_token_file(p), doctest::Contains(p.string().c_str()), patchzoo::error);
}

}  // namespace

TEST_CASE("token file: round trip, little-endian header") {
  temp_dir dir;
  const auto p = dir / "tokens.pztok";
  data::write_token_file(p, sample());
  const auto bytes = read_file_bytes(p);
  REQUIRE(bytes.size() == 32 + 12 * 2 + 2 * 2);
  CHECK(bytes.substr(0, 8) == "PZTOKENS");
  CHECK(bytes[8] == 2);                                   // version, low byte first
  CHECK(static_cast<unsigned char>(bytes[21]) == 2);      // codebook_size 512 = 0x0200
  CHECK(static_cast<unsigned char>(bytes[32 + 4]) == 0xff);  // token 511 = 0x01ff
  const auto f = data::read_token_file(p);
  CHECK(f.grid_h == 2);
  CHECK(f.grid_w == 3);
  CHECK(f.codebook_size == 512);
  CHECK(f.count() == 2);
  CHECK(f.tokens == sample().tokens);
  CHECK(f.labels == sample().labels);
  CHECK(f.image(1)[5] == 256);
  CHECK(static_cast<unsigned char>(bytes[32 + 24 + 2]) == 0xe7);  // label 999 = 0x03e7, low byte first
}

TEST_CASE("token file: version 1 files (one byte per label) are still read") {
  temp_dir dir;
  const auto p = dir / "v1.pztok";
  data::write_token_file(p, sample());
  auto b = read_file_bytes(p);
  b[8] = 1;
  b.resize(32 + 24);
  b += std::string{'\x03', '\x09'};
  write_file_bytes(p, b);
  const auto f = data::read_token_file(p);
  CHECK(f.tokens == sample().tokens);
  CHECK(f.labels == std::vector<std::uint16_t>{3, 9});
  write_file_bytes(p, b + "x");
  expect_read_error(p, "trailing bytes");
}

TEST_CASE("token file: corrupt or inconsistent files are rejected, naming the file and field") {
  temp_dir dir;
  const auto good = dir / "good.pztok";
  data::write_token_file(good, sample());
  const auto bytes = read_file_bytes(good);
  const auto bad = dir / "bad.pztok";

  write_file_bytes(bad, bytes.substr(0, 20));
  expect_read_error(bad, "too short");
  auto b = bytes;
  b[0] = 'X';
  write_file_bytes(bad, b);
  expect_read_error(bad, "field magic");
  b = bytes;
  b[8] = 3;
  write_file_bytes(bad, b);
  expect_read_error(bad, "field version is 3, expected 1 or 2");
  write_file_bytes(bad, bytes.substr(0, bytes.size() - 1));
  expect_read_error(bad, "field count");
  write_file_bytes(bad, bytes + "x");
  expect_read_error(bad, "trailing bytes");
  b = bytes;
  b[32 + 4] = static_cast<char>(0x00);
  b[32 + 5] = static_cast<char>(0x02);  // token 512 with codebook_size 512
  write_file_bytes(bad, b);
  expect_read_error(bad, "token 512 of image 0 (position 2)");
  b = bytes;
  b[12] = 0;  // grid_h 0
  write_file_bytes(bad, b);
  expect_read_error(bad, "grid_h");

  auto f = sample();
  f.tokens[4] = 600;
  CHECK_THROWS_WITH_AS(data::write_token_file(dir / "never.pztok", f), doctest::Contains("token 600"), patchzoo::error);
  CHECK_FALSE(std::filesystem::exists(dir / "never.pztok"));
  f = sample();
  f.labels.push_back(1);
  CHECK_THROWS_WITH_AS(data::write_token_file(dir / "never.pztok", f), doctest::Contains("12 tokens for 3 images"),
                       patchzoo::error);
}
