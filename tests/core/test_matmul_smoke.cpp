#include <doctest/doctest.h>

#include "patchzoo/backend/xtensor/xtensor_backend.hpp"
#include "support/random.hpp"

using namespace patchzoo;

TEST_CASE("xtensor matmul: 2x3 times 3x2, and transposes") {
  xtensor_backend be;
  tensor<float> a(shape_t{2, 3}, {1, 2, 3, 4, 5, 6});
  tensor<float> b(shape_t{3, 2}, {7, 8, 9, 10, 11, 12});
  tensor<float> c(shape_t{2, 2});
  matmul(be, c.view(), a.cview(), b.cview(), false, false);
  CHECK(c.to_vector() == std::vector<float>{58, 64, 139, 154});
  tensor<float> bt(shape_t{2, 3}, {7, 9, 11, 8, 10, 12});
  matmul(be, c.view(), a.cview(), bt.cview(), false, true, 1.0f, 0.0f);
  CHECK(c.to_vector() == std::vector<float>{58, 64, 139, 154});
  CHECK_THROWS_WITH_AS(matmul(be, c.view(), a.cview(), a.cview(), false, false),
                       doctest::Contains("inner dimensions differ"), patchzoo::error);
}
