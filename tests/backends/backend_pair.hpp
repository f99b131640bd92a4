#pragma once
// Shared pieces of the cross-backend tests: each test runs one op on the xtensor reference and on the
// Eigen backend from identical seeded inputs and compares with the op's tolerance from tolerances.hpp.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "patchzoo/backend/eigen/eigen_backend.hpp"
#include "patchzoo/backend/xtensor/xtensor_backend.hpp"
#include "support/compare.hpp"
#include "support/random.hpp"

// Every comparison runs in float (the production type) and in double (which must compile and agree too).
#define PZ_REAL_TYPES float, double

namespace patchzoo::test {

struct backend_pair {
  xtensor_backend ref;
  eigen_backend fast;
};

template <class T>
void compare(const std::string& what, const tensor<T>& fast, const tensor<T>& ref, const char* op) {
  check_close<T, T>(what, fast.cview(), ref.cview(), f32_tolerance(op));
}

// Rows of one slot of a fused [T, slots, H, D] buffer, seen as a [T, H, D] view with strided rows.
template <class T>
tensor_view<T> fused_slot(tensor<T>& fused, std::int64_t slot) {
  const std::int64_t heads = fused.dim(2), d = fused.dim(3);
  return tensor_view<T>(fused.data() + slot * heads * d, shape_t{fused.dim(0), heads, d},
                        {fused.dim(1) * heads * d, d, 1, 0});
}

// Both backends must reject the input, with the very same message.
template <class Ref, class Fast>
void expect_same_error(const std::string& what, Ref&& ref, Fast&& fast) {
  INFO(what);
  std::string ref_message, fast_message;
  try {
    ref();
  } catch (const patchzoo::error& e) {
    ref_message = e.what();
  }
  try {
    fast();
  } catch (const patchzoo::error& e) {
    fast_message = e.what();
  }
  CHECK_MESSAGE(!ref_message.empty(), "the reference accepted the bad input");
  CHECK(fast_message == ref_message);
}

}  // namespace patchzoo::test
