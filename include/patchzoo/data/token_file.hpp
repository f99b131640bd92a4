#pragma once
// Token files: a data set encoded by the tokenizer. Little-endian layout:
//   "PZTOKENS" (8 bytes), version u32, grid_h u32, grid_w u32, codebook_size u32, count u64,
//   count * grid_h * grid_w uint16 tokens (row-major per image), count uint16 labels.
// Version 1 files (uint8 labels: ten Fashion-MNIST classes) are still read; writes are version 2, whose labels
// hold ImageNet's 1000 classes. Writes are atomic (temporary file + rename); reads check every field and name
// the file and field.
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "patchzoo/core/error.hpp"
#include "patchzoo/io/atomic_file.hpp"
#include "patchzoo/io/checked_size.hpp"

namespace patchzoo::data {

inline constexpr char token_file_magic[8] = {'P', 'Z', 'T', 'O', 'K', 'E', 'N', 'S'};
inline constexpr std::uint32_t token_file_version = 2;  // 1: uint8 labels
inline constexpr std::uint64_t token_file_header_bytes = 8 + 4 * 4 + 8;

struct token_file {
  std::int64_t grid_h = 0, grid_w = 0, codebook_size = 0;
  std::vector<std::uint16_t> tokens;  // count * grid_h * grid_w
  std::vector<std::uint16_t> labels;  // count

  std::int64_t count() const { return static_cast<std::int64_t>(labels.size()); }
  std::int64_t tokens_per_image() const { return grid_h * grid_w; }
  const std::uint16_t* image(std::int64_t i) const { return tokens.data() + i * tokens_per_image(); }
};

namespace token_file_detail {

template <class U>
void put(std::vector<unsigned char>& out, U value) {
  for (std::size_t i = 0; i < sizeof(U); ++i) out.push_back(static_cast<unsigned char>(value >> (8 * i)));
}

template <class U>
U get(const unsigned char* p) {
  U v = 0;
  for (std::size_t i = 0; i < sizeof(U); ++i) v |= static_cast<U>(static_cast<U>(p[i]) << (8 * i));
  return v;
}

// Shape and token-range checks shared by the writer (before writing) and the reader.
inline void validate(const std::string& where, const token_file& f) {
  check(f.grid_h >= 1 && f.grid_h <= 65535 && f.grid_w >= 1 && f.grid_w <= 65535, "token_file", where,
        ": field grid_h/grid_w (", f.grid_h, "x", f.grid_w, ") must be in [1, 65535]");
  check(f.codebook_size >= 1 && f.codebook_size <= 65536, "token_file", where, ": field codebook_size ",
        f.codebook_size, " must be in [1, 65536]");
  check(static_cast<std::int64_t>(f.tokens.size()) == f.count() * f.tokens_per_image(), "token_file", where,
        ": ", f.tokens.size(), " tokens for ", f.count(), " images of ", f.grid_h, "x", f.grid_w);
  for (std::size_t i = 0; i < f.tokens.size(); ++i)
    check(f.tokens[i] < f.codebook_size, "token_file", where, ": token ", f.tokens[i], " of image ",
          static_cast<std::int64_t>(i) / f.tokens_per_image(), " (position ",
          static_cast<std::int64_t>(i) % f.tokens_per_image(), ") is not below codebook_size ", f.codebook_size);
}

}  // namespace token_file_detail

inline void write_token_file(const std::filesystem::path& path, const token_file& f) {
  using namespace token_file_detail;
  validate(path.string(), f);
  std::vector<unsigned char> header(token_file_magic, token_file_magic + 8);
  put<std::uint32_t>(header, token_file_version);
  put<std::uint32_t>(header, static_cast<std::uint32_t>(f.grid_h));
  put<std::uint32_t>(header, static_cast<std::uint32_t>(f.grid_w));
  put<std::uint32_t>(header, static_cast<std::uint32_t>(f.codebook_size));
  put<std::uint64_t>(header, static_cast<std::uint64_t>(f.count()));
  std::vector<unsigned char> body;
  body.reserve((f.tokens.size() + f.labels.size()) * 2);
  for (const auto t : f.tokens) put<std::uint16_t>(body, t);
  for (const auto l : f.labels) put<std::uint16_t>(body, l);
  write_file_atomically(path, [&](file_sink& sink) {
    sink.write(header.data(), header.size());
    sink.write(body.data(), body.size());
  });
}

inline token_file read_token_file(const std::filesystem::path& path) {
  using namespace token_file_detail;
  const std::string name = path.string();
  std::ifstream in(path, std::ios::binary);
  check(static_cast<bool>(in), "read_token_file", "cannot open ", name);
  const std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  check(bytes.size() >= token_file_header_bytes, "read_token_file", name, " is too short for the ",
        token_file_header_bytes, "-byte header (", bytes.size(), " bytes)");
  check(std::memcmp(bytes.data(), token_file_magic, 8) == 0, "read_token_file", name,
        ": field magic is not \"PZTOKENS\" (not a patchzoo token file)");
  const std::uint32_t version = get<std::uint32_t>(bytes.data() + 8);
  check(version == 1 || version == token_file_version, "read_token_file", name, ": field version is ", version,
        ", expected 1 or ", token_file_version);
  const std::int64_t label_bytes = version == 1 ? 1 : 2;
  token_file f;
  f.grid_h = get<std::uint32_t>(bytes.data() + 12);
  f.grid_w = get<std::uint32_t>(bytes.data() + 16);
  f.codebook_size = get<std::uint32_t>(bytes.data() + 20);
  const std::uint64_t count = get<std::uint64_t>(bytes.data() + 24);
  // The grid is range-checked before any size is formed from it, so the sizes below cannot wrap.
  check(f.grid_h >= 1 && f.grid_h <= 65535 && f.grid_w >= 1 && f.grid_w <= 65535, "read_token_file", name,
        ": field grid_h/grid_w (", f.grid_h, "x", f.grid_w, ") must be in [1, 65535]");
  const std::string field_count = "read_token_file: " + name + ": field count";
  const std::int64_t per_image = checked_add(checked_mul(f.tokens_per_image(), 2, field_count), label_bytes, field_count);
  const std::int64_t needed = checked_mul(checked_size(count, field_count), per_image, field_count);
  const std::uint64_t available = bytes.size() - token_file_header_bytes;
  check(static_cast<std::uint64_t>(needed) <= available, "read_token_file", name, ": field count ", count, " with ",
        f.grid_h, "x", f.grid_w, " grids needs ", needed, " bytes after the header, the file has only ", available,
        " (truncated file?)");
  check(static_cast<std::uint64_t>(needed) == available, "read_token_file", name, ": field count ", count, " with ",
        f.grid_h, "x", f.grid_w, " grids needs ", needed, " bytes after the header, the file has ", available,
        " (trailing bytes)");
  const unsigned char* p = bytes.data() + token_file_header_bytes;
  f.tokens.resize(static_cast<std::size_t>(static_cast<std::int64_t>(count) * f.tokens_per_image()));
  for (std::size_t i = 0; i < f.tokens.size(); ++i) f.tokens[i] = get<std::uint16_t>(p + 2 * i);
  p += 2 * f.tokens.size();
  f.labels.resize(static_cast<std::size_t>(count));
  for (std::size_t i = 0; i < f.labels.size(); ++i)
    f.labels[i] = label_bytes == 1 ? p[i] : get<std::uint16_t>(p + 2 * i);
  validate(name, f);
  return f;
}

}  // namespace patchzoo::data
