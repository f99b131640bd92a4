// Fuzzes dpar::read_entropy_file (dpar/entropy_file.hpp): header fields, sizes, finite non-negative values.
#include <cstdint>

#include "patchzoo/dpar/entropy_file.hpp"
#include "fuzz/fuzz_support.hpp"

void fuzz_one(std::span<const std::uint8_t> input) {
  const auto f = patchzoo::dpar::read_entropy_file(scratch_file(".entropy").write(input));
  for (std::int64_t i = 0; i < f.count(); ++i) (void)f.image(i).back();
}

void write_seeds(const seed_writer& out) {
  patchzoo::dpar::entropy_file f{2, 3, {}};
  for (int i = 0; i < 2 * 6; ++i) f.values.push_back(i % 6 == 0 ? 0.0f : 0.25f * static_cast<float>(i));
  patchzoo::dpar::write_entropy_file(out.path("small.entropy"), f);
  patchzoo::dpar::write_entropy_file(out.path("empty.entropy"), patchzoo::dpar::entropy_file{3, 3, {}});
}
