// The kv_range builders of ops/attention_ranges.hpp: values and input validation.
#include <doctest/doctest.h>

#include <vector>

#include "patchzoo/ops/attention_ranges.hpp"

using namespace patchzoo;

TEST_CASE("attention ranges: causal, block and segment") {
  const std::vector<std::int32_t> offsets{0, 2, 2, 5};
  CHECK(causal_ranges(offsets).to_vector() == std::vector<std::int32_t>{0, 1, 0, 2, 2, 3, 2, 4, 2, 5});
  CHECK(block_ranges(offsets).to_vector() == std::vector<std::int32_t>{0, 2, 0, 2, 2, 5, 2, 5, 2, 5});
  const tensor<std::int32_t> seg = segment_ranges(offsets);
  CHECK(seg.shape() == shape_t{3, 2});
  CHECK(seg.to_vector() == std::vector<std::int32_t>{0, 2, 2, 2, 2, 5});
  CHECK(segment_ranges(std::vector<std::int32_t>{4, 6}).to_vector() == std::vector<std::int32_t>{4, 6});
  CHECK(causal_ranges(std::vector<std::int32_t>{0}).shape() == shape_t{0, 2});
}

TEST_CASE("attention ranges: invalid offsets are rejected") {
  CHECK_THROWS_WITH_AS(causal_ranges(std::vector<std::int32_t>{0, 3, 2}),
                       doctest::Contains("causal_ranges: offsets decrease at position 2"), patchzoo::error);
  CHECK_THROWS_WITH_AS(block_ranges(std::vector<std::int32_t>{1, 3}), doctest::Contains("block_ranges: first offset is 1"),
                       patchzoo::error);
  CHECK_THROWS_WITH_AS(segment_ranges(std::vector<std::int32_t>{}), doctest::Contains("segment_ranges: offsets must hold"),
                       patchzoo::error);
  CHECK_THROWS_WITH_AS(segment_ranges(std::vector<std::int32_t>{-1, 2}), doctest::Contains("negative"), patchzoo::error);
}
