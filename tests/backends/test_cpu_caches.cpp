// The last-level cache size the CPU backends budget decoding by: sysfs's size strings, and a positive size.
#include <doctest/doctest.h>

#include "patchzoo/backend/cpu_caches.hpp"

using namespace patchzoo;

TEST_CASE("cpu caches: sysfs size strings parse; the last-level cache has a size") {
  using cpu_caches_detail::parse_cache_size;
  CHECK(parse_cache_size("32768K") == std::size_t{32} << 20);
  CHECK(parse_cache_size("2M") == std::size_t{2} << 20);
  CHECK(parse_cache_size("4096") == 4096);
  CHECK(parse_cache_size("") == 0);
  CHECK(parse_cache_size("large") == 0);
  CHECK(last_level_cache_bytes() >= std::size_t{256} << 10);
}
