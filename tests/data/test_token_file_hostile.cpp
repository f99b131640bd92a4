// Hostile token files (issue 16): the grid_h x grid_w product that wrapped in entropy files wrapped here
// too, and a count whose byte size overflows 64 bits must be an error, not a small allocation.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "patchzoo/data/token_file.hpp"
#include "support/temp_dir.hpp"

using namespace patchzoo;

namespace {

template <class U>
void put_le(std::string& s, U v) {
  for (std::size_t i = 0; i < sizeof(U); ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// The 32-byte header alone: magic, version 1, grid_h, grid_w, codebook_size 512, count.
std::string token_header(std::uint32_t grid_h, std::uint32_t grid_w, std::uint64_t count) {
  std::string s = "PZTOKENS";
  put_le<std::uint32_t>(s, 1);
  put_le(s, grid_h);
  put_le(s, grid_w);
  put_le<std::uint32_t>(s, 512);
  put_le(s, count);
  return s;
}

std::string read_error(const std::string& bytes) {
  temp_dir dir("tokens_hostile");
  const auto p = dir / "hostile.pztok";
  write_file_bytes(p, bytes);
  std::string msg;
  try {
    data::read_token_file(p);
  } catch (const patchzoo::error& e) {
    msg = e.what();
  }
  CHECK(msg.find(p.string()) != std::string::npos);
  return msg;
}

}  // namespace

TEST_CASE("token file: a huge grid is a field error before any size is formed from it") {
  const auto bytes = token_header(2147483648u, 2147483648u, 1);
  REQUIRE(bytes.size() == 32);
  CHECK(read_error(bytes).find("field grid_h/grid_w (2147483648x2147483648) must be in [1, 65535]") !=
        std::string::npos);
  CHECK(read_error(token_header(4294967295u, 1, 0)).find("must be in [1, 65535]") != std::string::npos);
}

TEST_CASE("token file: counts whose byte size overflows 64 bits are errors naming the field") {
  CHECK(read_error(token_header(65535, 65535, 0xffffffffu))
            .find(": field count: 4294967295 x 8589672451 overflows 64-bit size arithmetic") != std::string::npos);
  CHECK(read_error(token_header(1, 1, ~std::uint64_t(0)))
            .find(": field count: 18446744073709551615 is beyond the largest supported size") != std::string::npos);
  CHECK(read_error(token_header(2, 2, std::uint64_t(1) << 40) + "abc")
            .find("field count 1099511627776 with 2x2 grids needs 9895604649984 bytes after the header, the file has "
                  "only 3 (truncated file?)") != std::string::npos);
}
