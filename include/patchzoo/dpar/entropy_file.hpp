#pragma once
// Entropy files: the entropy model's next-token entropies of every image of a token file, which the DPAR
// trainer turns into patch lengths. Little-endian layout:
//   "PZENTROP" (8 bytes), version u32, grid_h u32, grid_w u32, count u64, count * grid_h * grid_w float32
// where value t of an image is H_t = H(p(x_t | x_<t)) in nats; value 0 is unused (written as 0).
// Writes are atomic; reads check every field and name the file and field.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <vector>

#include "patchzoo/core/error.hpp"
#include "patchzoo/io/atomic_file.hpp"
#include "patchzoo/io/checked_size.hpp"
#include "patchzoo/data/token_file.hpp"

namespace patchzoo::dpar {

inline constexpr char entropy_file_magic[8] = {'P', 'Z', 'E', 'N', 'T', 'R', 'O', 'P'};
inline constexpr std::uint32_t entropy_file_version = 1;
inline constexpr std::uint64_t entropy_file_header_bytes = 8 + 3 * 4 + 8;

struct entropy_file {
  std::int64_t grid_h = 0, grid_w = 0;
  std::vector<float> values;  // count * grid_h * grid_w

  std::int64_t tokens_per_image() const { return grid_h * grid_w; }
  std::int64_t count() const {
    return tokens_per_image() > 0 ? static_cast<std::int64_t>(values.size()) / tokens_per_image() : 0;
  }
  std::span<const float> image(std::int64_t i) const {
    return {values.data() + i * tokens_per_image(), static_cast<std::size_t>(tokens_per_image())};
  }
};

namespace entropy_file_detail {

inline void validate(const std::string& where, const entropy_file& f) {
  check(f.grid_h >= 1 && f.grid_h <= 65535 && f.grid_w >= 1 && f.grid_w <= 65535, "entropy_file", where,
        ": field grid_h/grid_w (", f.grid_h, "x", f.grid_w, ") must be in [1, 65535]");
  check(static_cast<std::int64_t>(f.values.size()) % f.tokens_per_image() == 0, "entropy_file", where, ": ",
        f.values.size(), " values are not a whole number of ", f.grid_h, "x", f.grid_w, " grids");
  for (std::size_t i = 0; i < f.values.size(); ++i)
    check(std::isfinite(f.values[i]) && f.values[i] >= 0.0f, "entropy_file", where, ": value ", f.values[i],
          " of image ", static_cast<std::int64_t>(i) / f.tokens_per_image(), " (position ",
          static_cast<std::int64_t>(i) % f.tokens_per_image(), ") is not a finite entropy >= 0");
}

}  // namespace entropy_file_detail

// The entropy file must describe exactly the images of the token file, in the same grid.
inline void check_entropy_matches(const entropy_file& e, const data::token_file& t, const std::string& where) {
  check(e.grid_h == t.grid_h && e.grid_w == t.grid_w && e.count() == t.count(), "entropy_file", where, " holds ",
        e.count(), " grids of ", e.grid_h, "x", e.grid_w, " but the token file holds ", t.count(), " grids of ",
        t.grid_h, "x", t.grid_w);
}

inline void write_entropy_file(const std::filesystem::path& path, const entropy_file& f) {
  using data::token_file_detail::put;
  entropy_file_detail::validate(path.string(), f);
  std::vector<unsigned char> bytes(entropy_file_magic, entropy_file_magic + 8);
  put<std::uint32_t>(bytes, entropy_file_version);
  put<std::uint32_t>(bytes, static_cast<std::uint32_t>(f.grid_h));
  put<std::uint32_t>(bytes, static_cast<std::uint32_t>(f.grid_w));
  put<std::uint64_t>(bytes, static_cast<std::uint64_t>(f.count()));
  bytes.reserve(bytes.size() + f.values.size() * 4);
  for (const float v : f.values) {
    std::uint32_t bits = 0;
    std::memcpy(&bits, &v, 4);
    put<std::uint32_t>(bytes, bits);
  }
  write_file_atomically(path, [&](file_sink& sink) { sink.write(bytes.data(), bytes.size()); });
}

inline entropy_file read_entropy_file(const std::filesystem::path& path) {
  using data::token_file_detail::get;
  const std::string name = path.string();
  std::ifstream in(path, std::ios::binary);
  check(static_cast<bool>(in), "read_entropy_file", "cannot open ", name);
  const std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  check(bytes.size() >= entropy_file_header_bytes, "read_entropy_file", name, " is too short for the ",
        entropy_file_header_bytes, "-byte header (", bytes.size(), " bytes)");
  check(std::memcmp(bytes.data(), entropy_file_magic, 8) == 0, "read_entropy_file", name,
        ": field magic is not \"PZENTROP\" (not a patchzoo entropy file)");
  const auto version = get<std::uint32_t>(bytes.data() + 8);
  check(version == entropy_file_version, "read_entropy_file", name, ": field version is ", version, ", expected ",
        entropy_file_version);
  entropy_file f;
  f.grid_h = get<std::uint32_t>(bytes.data() + 12);
  f.grid_w = get<std::uint32_t>(bytes.data() + 16);
  const auto count = get<std::uint64_t>(bytes.data() + 20);
  // The grid is range-checked before any size is formed from it: 2^31 x 2^31 would wrap the per-image
  // size to 0 and divide by it.
  check(f.grid_h >= 1 && f.grid_h <= 65535 && f.grid_w >= 1 && f.grid_w <= 65535, "read_entropy_file", name,
        ": field grid_h/grid_w (", f.grid_h, "x", f.grid_w, ") must be in [1, 65535]");
  const std::string field_count = "read_entropy_file: " + name + ": field count";
  const std::int64_t per_image = checked_mul(f.tokens_per_image(), 4, field_count);
  const std::int64_t needed = checked_mul(checked_size(count, field_count), per_image, field_count);
  const std::uint64_t available = bytes.size() - entropy_file_header_bytes;
  check(static_cast<std::uint64_t>(needed) == available, "read_entropy_file", name, ": field count ", count, " with ",
        f.grid_h, "x", f.grid_w, " grids needs ", needed, " bytes after the header, the file has ", available);
  f.values.resize(static_cast<std::size_t>(available / 4));
  for (std::size_t i = 0; i < f.values.size(); ++i) {
    const auto bits = get<std::uint32_t>(bytes.data() + entropy_file_header_bytes + 4 * i);
    std::memcpy(&f.values[i], &bits, 4);
  }
  entropy_file_detail::validate(name, f);
  return f;
}

}  // namespace patchzoo::dpar
