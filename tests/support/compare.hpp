#pragma once
// Element-wise comparison that reports the worst element, for doctest.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "patchzoo/core/tensor.hpp"
#include "support/tolerances.hpp"

namespace patchzoo::test {

template <class A, class B>
void check_close(const std::string& what, const_view<A> got, const_view<B> want, tolerance tol) {
  INFO(what);
  REQUIRE_MESSAGE(got.numel() == want.numel(), "shapes ", got.shape.str(), " vs ", want.shape.str());
  std::int64_t worst = -1;
  double worst_excess = 0.0, worst_err = 0.0;
  for (std::int64_t i = 0; i < got.numel(); ++i) {
    const double g = static_cast<double>(got.data[i]), w = static_cast<double>(want.data[i]);
    const double err = std::abs(g - w);
    const double excess = err - (tol.abs + tol.rel * std::abs(w));
    if (!(excess <= 0.0) && (worst < 0 || excess > worst_excess || std::isnan(g))) {
      worst = i;
      worst_excess = excess;
      worst_err = err;
    }
  }
  if (worst >= 0) {
    FAIL_CHECK(what << ": element " << worst << " got " << got.data[worst] << " want " << want.data[worst]
                    << " (|err| " << worst_err << ", tolerance abs " << tol.abs << " rel " << tol.rel << ")");
  }
}

template <class A, class MA, class B, class MB>
void check_close(const std::string& what, const tensor<A, MA>& got, const tensor<B, MB>& want, tolerance tol) {
  check_close<A, B>(what, got.cview(), want.cview(), tol);
}

}  // namespace patchzoo::test
