// Fuzzes data::read_token_file (data/token_file.hpp): header fields, sizes, token range, labels.
#include <cstdint>

#include "patchzoo/data/token_file.hpp"
#include "fuzz/fuzz_support.hpp"

void fuzz_one(std::span<const std::uint8_t> input) {
  const auto f = patchzoo::data::read_token_file(scratch_file(".tokens").write(input));
  for (std::int64_t i = 0; i < f.count(); ++i) (void)f.image(i)[f.tokens_per_image() - 1];
}

void write_seeds(const seed_writer& out) {
  using patchzoo::data::token_file;
  token_file small{2, 3, 16, {}, {}};
  for (int i = 0; i < 3; ++i) {
    for (int t = 0; t < 6; ++t) small.tokens.push_back(static_cast<std::uint16_t>((i * 5 + t) % 16));
    small.labels.push_back(static_cast<std::uint16_t>(i));
  }
  patchzoo::data::write_token_file(out.path("small.tokens"), small);
  token_file empty{4, 4, 65536, {}, {}};
  patchzoo::data::write_token_file(out.path("empty.tokens"), empty);
  token_file wide{1, 2, 65536, {65535, 0}, {9}};
  patchzoo::data::write_token_file(out.path("wide_codebook.tokens"), wide);
}
