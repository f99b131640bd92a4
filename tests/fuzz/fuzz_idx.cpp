// Fuzzes data::read_idx (data/idx.hpp), which reads plain and gzip-compressed IDX files through zlib.
// The first input byte picks the mode: bit 0 set = gzip-compress the rest before writing it (so mutations
// of the IDX structure reach the parser through the decompressor), clear = write the rest as it is (plain
// IDX, or a damaged gzip stream when it starts with 1f 8b); bit 1 picks the expected rank, 1 or 3.
#include <zlib.h>

#include <cstdint>
#include <vector>

#include "patchzoo/data/idx.hpp"
#include "fuzz/fuzz_support.hpp"

namespace {

void write_gzip(const std::filesystem::path& path, std::span<const std::uint8_t> bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  if (f == nullptr) std::abort();
  if (!bytes.empty() && gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) <= 0) std::abort();
  gzclose(f);
}

std::vector<std::uint8_t> idx_bytes(const std::vector<std::uint32_t>& dims) {
  std::vector<std::uint8_t> b{0, 0, 0x08, static_cast<std::uint8_t>(dims.size())};
  std::size_t total = 1;
  for (auto d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<std::uint8_t>(d >> shift));
    total *= d;
  }
  for (std::size_t i = 0; i < total; ++i) b.push_back(static_cast<std::uint8_t>(i * 37));
  return b;
}

}  // namespace

void fuzz_one(std::span<const std::uint8_t> input) {
  if (input.empty()) return;
  const std::uint8_t mode = input[0];
  const auto rest = input.subspan(1);
  const auto& file = scratch_file(".idx");
  if (mode & 1)
    write_gzip(file.path(), rest);
  else
    file.write(rest);
  (void)patchzoo::data::read_idx(file.path(), (mode & 2) ? 3 : 1);
}

void write_seeds(const seed_writer& out) {
  // Mode byte, then the file: labels (rank 1) and images (rank 3), each plain and to be compressed.
  const auto labels = idx_bytes({10}), images = idx_bytes({3, 4, 5});
  for (std::uint8_t mode : {0, 1}) {
    std::vector<std::uint8_t> l{mode}, i{static_cast<std::uint8_t>(mode | 2)};
    l.insert(l.end(), labels.begin(), labels.end());
    i.insert(i.end(), images.begin(), images.end());
    out.text("labels_mode" + std::to_string(mode), std::string(l.begin(), l.end()));
    out.text("images_mode" + std::to_string(mode | 2), std::string(i.begin(), i.end()));
  }
}
