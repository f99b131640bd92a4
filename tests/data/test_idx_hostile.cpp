// Hostile IDX files (issue 16): dimensions that claim gigabytes from a few bytes, that wrap 64-bit
// products, or that a gzip stream cannot back. Each fails with a patchzoo::error naming the file, quickly
// and without allocating what the header claims.
#include <doctest/doctest.h>
#include <zlib.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "patchzoo/data/idx.hpp"
#include "support/temp_dir.hpp"

using namespace patchzoo;
using namespace patchzoo::data;

namespace {

std::string idx_header(const std::vector<std::uint32_t>& dims) {
  std::string s{'\0', '\0', '\x08', static_cast<char>(dims.size())};
  for (std::uint32_t d : dims)
    for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<char>((d >> shift) & 0xff));
  return s;
}

void write_gz(const std::filesystem::path& p, const std::string& bytes) {
  gzFile f = gzopen(p.c_str(), "wb9");
  REQUIRE(f != nullptr);
  if (!bytes.empty())
    REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
  REQUIRE(gzclose(f) == Z_OK);
}

// Bytes that deflate cannot shrink, so a small file really is small.
std::string noise(std::size_t n) {
  std::string s(n, '\0');
  std::uint64_t x = 0x9E3779B97F4A7C15ull;
  for (auto& c : s) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    c = static_cast<char>(x >> 56);
  }
  return s;
}

std::string read_error(const std::filesystem::path& p, int rank) {
  const auto start = std::chrono::steady_clock::now();
  std::string msg;
  try {
    read_idx(p, rank);
  } catch (const patchzoo::error& e) {
    msg = e.what();
  }
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
  CHECK(msg.find(p.string()) != std::string::npos);
  return msg;
}

}  // namespace

TEST_CASE("read_idx: a 45-byte .gz claiming 100000x200x200 fails as truncated before allocating 4 GB") {
  temp_dir dir("idx_hostile");
  const auto p = dir / "claims_4gb.idx.gz";
  write_gz(p, idx_header({100000, 200, 200}));
  CHECK(std::filesystem::file_size(p) <= 45);
  const auto msg = read_error(p, 3);
  CHECK(msg.find("is truncated: its dimensions claim 4000000000 bytes of element data, more than the") !=
        std::string::npos);
  CHECK(msg.find("-byte file can hold even compressed") != std::string::npos);
}

TEST_CASE("read_idx: 2^24 - 1 squared elements from a tiny file is truncation, not bad_alloc") {
  temp_dir dir("idx_hostile");
  const auto gz = dir / "square.idx.gz";
  write_gz(gz, idx_header({16777215, 16777215, 1}));
  CHECK(read_error(gz, 3).find("is truncated: its dimensions claim 281474943156225 bytes") != std::string::npos);
  const auto plain = dir / "square.idx";
  write_file_bytes(plain, idx_header({16777215, 16777215, 1}) + "abc");
  CHECK(read_error(plain, 3).find("is truncated") != std::string::npos);
  // 2^24 itself is beyond the IDX dimension limit.
  write_file_bytes(plain, idx_header({16777216}) + "abc");
  CHECK(read_error(plain, 1).find("dimension 0 is 16777216, expected 1 to 16777215") != std::string::npos);
}

TEST_CASE("read_idx: dimension products beyond int64 are an error, not a wrap to a small size") {
  temp_dir dir("idx_hostile");
  const auto p = dir / "wraps.idx";
  write_file_bytes(p, idx_header({16777215, 16777215, 16777215}));
  CHECK(read_error(p, 3).find(": dimensions: has too many elements: the product of [16777215, 16777215, 16777215] "
                              "exceeds 9223372036854775807") != std::string::npos);
  // Rank 5 of 2^24 - 1 would wrap to a small positive number in unchecked int64 arithmetic.
  write_file_bytes(p, idx_header({16777215, 16777215, 16777215, 16777215, 16777215}));
  CHECK(read_error(p, 5).find("has too many elements") != std::string::npos);
}

TEST_CASE("read_idx: a gz stream holding less than its plausible claim fails as truncated after what it holds") {
  temp_dir dir("idx_hostile");
  const auto p = dir / "short.idx.gz";
  // 20000 incompressible bytes could expand to the claimed 5 MB, so only reading can tell: the buffer grows
  // with the data, and the error reports what arrived.
  write_gz(p, idx_header({5000, 1000, 1}) + noise(20000));
  CHECK(read_error(p, 3).find("is truncated: expected 5000000 bytes of element data, found 20000") != std::string::npos);
}

TEST_CASE("read_idx: a valid file larger than one read chunk still reads exactly") {
  temp_dir dir("idx_hostile");
  const auto p = dir / "big.idx.gz";
  std::string payload(3 * 700 * 700, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i % 251);
  write_gz(p, idx_header({3, 700, 700}) + payload);
  const auto a = read_idx(p, 3);
  CHECK(a.dims == std::vector<std::int64_t>{3, 700, 700});
  REQUIRE(a.data.size() == payload.size());
  CHECK(std::string(a.data.begin(), a.data.end()) == payload);
}
