#include <doctest/doctest.h>
#include <zlib.h>

#include "support/temp_dir.hpp"
#include "patchzoo/data/fashion_mnist.hpp"

using namespace patchzoo;
using namespace patchzoo::data;

namespace {

// IDX bytes: magic 0 0 <type> <rank>, big-endian dims, then `payload`.
std::string idx_bytes(std::uint8_t type, const std::vector<std::uint32_t>& dims, const std::string& payload) {
  std::string s{'\0', '\0', static_cast<char>(type), static_cast<char>(dims.size())};
  for (std::uint32_t d : dims)
    for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<char>((d >> shift) & 0xff));
  return s + payload;
}

void write_gz(const std::filesystem::path& p, const std::string& bytes) {
  gzFile f = gzopen(p.c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
  REQUIRE(gzclose(f) == Z_OK);
}

std::string image_payload(int n, int rows, int cols) {
  std::string s;
  for (int i = 0; i < n * rows * cols; ++i) s.push_back(static_cast<char>(i % 256));
  return s;
}

}  // namespace

TEST_CASE("read_idx: plain and gz files give the same dims and bytes") {
  temp_dir dir;
  const std::string bytes = idx_bytes(0x08, {3, 2, 5}, image_payload(3, 2, 5));
  write_file_bytes(dir / "plain.idx", bytes);
  write_gz(dir / "packed.idx.gz", bytes);
  for (const char* name : {"plain.idx", "packed.idx.gz"}) {
    const idx_array a = read_idx(dir / name, 3);
    CHECK(a.dims == std::vector<std::int64_t>{3, 2, 5});
    CHECK(a.count() == 3);
    CHECK(a.data.size() == 30);
    CHECK(a.data[29] == 29);
  }
}

TEST_CASE("read_idx: corrupt files give errors naming the file and the problem") {
  temp_dir dir;
  const auto fails_with = [&](const std::string& name, const std::string& bytes, int rank, const std::string& what) {
    write_file_bytes(dir / name, bytes);
    CHECK_THROWS_WITH_AS(read_idx(dir / name, rank), doctest::Contains(what.c_str()), patchzoo::error);
  };
  fails_with("magic.idx", std::string{'\x01', '\0', '\x08', '\x01', '\0', '\0', '\0', '\x01', 'a'}, 1, "is not an IDX file (magic bytes 1 0");
  fails_with("type.idx", idx_bytes(0x0D, {2}, "ab"), 1, "holds element type 0xd, expected 0x08");
  fails_with("rank.idx", idx_bytes(0x08, {2, 2}, "abcd"), 1, "has rank 2, expected 1");
  fails_with("short.idx", idx_bytes(0x08, {4, 2, 2}, image_payload(3, 2, 2)), 3,
             "is truncated: expected 16 bytes of element data, found 12");
  fails_with("dims.idx", std::string{'\0', '\0', '\x08', '\x03', '\0', '\0'}, 3, "bytes of the dimensions");
  fails_with("trailing.idx", idx_bytes(0x08, {2}, "abc"), 1, "has trailing bytes after 2 elements");
  fails_with("zero.idx", idx_bytes(0x08, {0}, ""), 1, "dimension 0 is 0");
  CHECK_THROWS_WITH_AS(read_idx(dir / "missing.idx", 1), doctest::Contains("file not found"), patchzoo::error);

  // A gz stream cut short: zlib either reports corrupt data or the payload comes up short.
  write_gz(dir / "whole.gz", idx_bytes(0x08, {50, 8, 8}, image_payload(50, 8, 8)));
  const std::string whole = read_file_bytes(dir / "whole.gz");
  write_file_bytes(dir / "cut.gz", whole.substr(0, whole.size() / 2));
  CHECK_THROWS_WITH_AS(read_idx(dir / "cut.gz", 3), doctest::Contains("cut.gz"), patchzoo::error);
}

TEST_CASE("load_idx_images: count mismatch and out-of-range labels are rejected") {
  temp_dir dir;
  write_file_bytes(dir / "images", idx_bytes(0x08, {3, 2, 2}, image_payload(3, 2, 2)));
  write_file_bytes(dir / "labels2", idx_bytes(0x08, {2}, std::string{1, 2}));
  write_file_bytes(dir / "labels_bad", idx_bytes(0x08, {3}, std::string{1, 10, 2}));
  write_file_bytes(dir / "labels_ok", idx_bytes(0x08, {3}, std::string{1, 9, 2}));
  CHECK_THROWS_WITH_AS(load_idx_images(dir / "images", dir / "labels2", 10),
                       doctest::Contains("holds 3 images but"), patchzoo::error);
  CHECK_THROWS_WITH_AS(load_idx_images(dir / "images", dir / "labels_bad", 10),
                       doctest::Contains("label 10 at index 1 is not below 10"), patchzoo::error);
  const image_dataset ds = load_idx_images(dir / "images", dir / "labels_ok", 10);
  CHECK(ds.size() == 3);
  CHECK(ds.rows == 2);
  CHECK(ds.image(2)[0] == 8);
  CHECK(ds.labels == std::vector<std::uint8_t>{1, 9, 2});
  CHECK_THROWS_WITH_AS(load_fashion_mnist(dir.path), doctest::Contains("no Fashion-MNIST in"), patchzoo::error);
}

TEST_CASE("check_fashion_mnist_dir: names the first missing file, and a full directory passes") {
  temp_dir dir;
  for (const char* name : {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"})
    write_file_bytes(dir / name, "");
  CHECK_THROWS_WITH_AS(check_fashion_mnist_dir(dir.path), doctest::Contains("(no t10k-labels-idx1-ubyte.gz)"),
                       patchzoo::error);
  write_file_bytes(dir / "t10k-labels-idx1-ubyte.gz", "");
  CHECK_NOTHROW(check_fashion_mnist_dir(dir.path));  // only presence: the readers check the contents
}
