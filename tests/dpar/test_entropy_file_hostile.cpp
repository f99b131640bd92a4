// Hostile entropy files (issue 16): a 28-byte file whose grid_h x grid_w wrapped the per-image size to 0
// crashed `patchzoo entropy threshold` with SIGFPE; counts whose byte size overflows must not wrap either.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "patchzoo/dpar/entropy_file.hpp"
#include "support/temp_dir.hpp"

using namespace patchzoo;

namespace {

template <class U>
void put_le(std::string& s, U v) {
  for (std::size_t i = 0; i < sizeof(U); ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// The 28-byte header alone: magic, version 1, grid_h, grid_w, count.
std::string entropy_header(std::uint32_t grid_h, std::uint32_t grid_w, std::uint64_t count) {
  std::string s = "PZENTROP";
  put_le<std::uint32_t>(s, 1);
  put_le(s, grid_h);
  put_le(s, grid_w);
  put_le(s, count);
  return s;
}

std::string read_error(const std::string& bytes) {
  temp_dir dir("entropy_hostile");
  const auto p = dir / "hostile.entropy";
  write_file_bytes(p, bytes);
  std::string msg;
  try {
    dpar::read_entropy_file(p);
  } catch (const patchzoo::error& e) {
    msg = e.what();
  }
  CHECK(msg.find(p.string()) != std::string::npos);
  return msg;
}

}  // namespace

TEST_CASE("entropy file: 28 bytes with a 2^31 x 2^31 grid is a field error, not SIGFPE") {
  const auto bytes = entropy_header(2147483648u, 2147483648u, 1);
  REQUIRE(bytes.size() == 28);
  CHECK(read_error(bytes).find("field grid_h/grid_w (2147483648x2147483648) must be in [1, 65535]") !=
        std::string::npos);
  CHECK(read_error(entropy_header(65536, 65536, 0)).find("must be in [1, 65535]") != std::string::npos);
  CHECK(read_error(entropy_header(0, 4, 0)).find("field grid_h/grid_w (0x4)") != std::string::npos);
}

TEST_CASE("entropy file: counts whose byte size overflows 64 bits are errors naming the field") {
  CHECK(read_error(entropy_header(65535, 65535, 0xffffffffu))
            .find(": field count: 4294967295 x 17179344900 overflows 64-bit size arithmetic") != std::string::npos);
  CHECK(read_error(entropy_header(1, 1, ~std::uint64_t(0)))
            .find(": field count: 18446744073709551615 is beyond the largest supported size") != std::string::npos);
  CHECK(read_error(entropy_header(1, 1, std::uint64_t(1) << 60))
            .find("field count 1152921504606846976 with 1x1 grids needs 4611686018427387904 bytes after the header, "
                  "the file has 0") != std::string::npos);
}
