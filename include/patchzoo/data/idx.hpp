#pragma once
// IDX files (the MNIST container): magic 0x00 0x00 <type> <rank>, big-endian u32 dims, raw data.
// Read through zlib so .gz and plain files both work. Only unsigned-byte data (type 0x08) is needed here.
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "patchzoo/core/error.hpp"
#include "patchzoo/io/checked_size.hpp"

namespace patchzoo::data {

struct idx_array {
  std::vector<std::int64_t> dims;
  std::vector<std::uint8_t> data;
  std::int64_t count() const { return dims.empty() ? 0 : dims[0]; }
};

namespace idx_detail {

inline constexpr std::int64_t deflate_max_ratio = 1032;

class gz_file {
 public:
  explicit gz_file(const std::filesystem::path& path) : path_(path), f_(gzopen(path.c_str(), "rb")) {
    check(f_ != nullptr, "read_idx", "cannot open ", path.string());
  }
  ~gz_file() { gzclose(f_); }
  gz_file(const gz_file&) = delete;
  gz_file& operator=(const gz_file&) = delete;

  // Reads exactly n bytes or throws, naming the file and how much was missing.
  void read(void* out, std::size_t n, const char* what) {
    const std::size_t got = read_some(out, n, what);
    check(got == n, "read_idx", path_.string(), " is truncated: expected ", n, " bytes of ", what, ", found ", got);
  }

  // Like read(), into a buffer grown as the data arrives: a gzip header cannot say how much it holds,
  // so a claimed size allocates at most twice what the file has actually delivered (or one chunk).
  std::vector<std::uint8_t> read_vector(std::size_t n, const char* what) {
    constexpr std::size_t first_chunk = std::size_t{1} << 20;
    std::vector<std::uint8_t> out;
    while (out.size() < n) {
      const std::size_t have = out.size();
      const std::size_t want = std::min(n - have, std::max(have, first_chunk));
      out.resize(have + want);
      const std::size_t got = read_some(out.data() + have, want, what);
      out.resize(have + got);
      if (got < want) break;
    }
    check(out.size() == n, "read_idx", path_.string(), " is truncated: expected ", n, " bytes of ", what, ", found ",
          out.size());
    return out;
  }
  bool at_end() {
    char probe;
    return gzread(f_, &probe, 1) == 0;
  }

 private:
  // Up to n bytes; fewer only at the end of the data.
  std::size_t read_some(void* out, std::size_t n, const char* what) {
    std::size_t got = 0;
    while (got < n) {
      const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n - got, 1u << 30));
      const int r = gzread(f_, static_cast<char*>(out) + got, chunk);
      if (r < 0) {
        int err = 0;
        const char* msg = gzerror(f_, &err);
        throw error("read_idx: " + path_.string() + ": corrupt compressed data while reading " + what + " (" +
                    (msg ? msg : "zlib error") + ")");
      }
      if (r == 0) break;
      got += static_cast<std::size_t>(r);
    }
    return got;
  }

  std::filesystem::path path_;
  gzFile f_;
};

}  // namespace idx_detail

// Reads an unsigned-byte IDX file of rank `expected_rank` (1 for labels, 3 for images).
inline idx_array read_idx(const std::filesystem::path& path, int expected_rank) {
  check(std::filesystem::exists(path), "read_idx", "file not found: ", path.string());
  idx_detail::gz_file f(path);
  std::uint8_t magic[4];
  f.read(magic, 4, "the magic number");
  check(magic[0] == 0 && magic[1] == 0, "read_idx", path.string(), " is not an IDX file (magic bytes ",
        int(magic[0]), " ", int(magic[1]), ", expected 0 0)");
  check(magic[2] == 0x08, "read_idx", path.string(), " holds element type 0x", std::hex, int(magic[2]),
        ", expected 0x08 (unsigned byte)");
  check(magic[3] == expected_rank, "read_idx", path.string(), " has rank ", int(magic[3]), ", expected ",
        expected_rank);
  idx_array a;
  for (int d = 0; d < expected_rank; ++d) {
    std::uint8_t b[4];
    f.read(b, 4, "the dimensions");
    const std::int64_t dim = (std::int64_t{b[0]} << 24) | (b[1] << 16) | (b[2] << 8) | b[3];
    check(dim > 0 && dim < (1 << 24), "read_idx", path.string(), " dimension ", d, " is ", dim,
          ", expected 1 to 16777215");
    a.dims.push_back(dim);
  }
  const std::int64_t total = checked_product(a.dims, "read_idx: " + path.string() + ": dimensions");
  // Deflate expands at most 1032:1 (zlib's documented limit) and a plain file holds its data as is, so a
  // claim beyond that bound is rejected before anything is read.
  std::error_code ec;
  const auto file_bytes = static_cast<std::int64_t>(std::filesystem::file_size(path, ec));
  check(!ec, "read_idx", "cannot size ", path.string(), ": ", ec.message());
  const std::int64_t can_hold = checked_mul(file_bytes, idx_detail::deflate_max_ratio, "read_idx: " + path.string());
  check(total <= can_hold, "read_idx", path.string(), " is truncated: its dimensions claim ", total,
        " bytes of element data, more than the ", file_bytes, "-byte file can hold even compressed (", can_hold, ")");
  a.data = f.read_vector(static_cast<std::size_t>(total), "element data");
  check(f.at_end(), "read_idx", path.string(), " has trailing bytes after ", total, " elements");
  return a;
}

}  // namespace patchzoo::data
