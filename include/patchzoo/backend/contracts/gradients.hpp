#pragma once
// Contracts of gradient outputs: an empty view means "not needed"; any other must match its input.
#include "patchzoo/backend/contracts/common.hpp"

namespace patchzoo::contract {

// Returns whether the gradient is wanted; throws when a wanted gradient has the wrong shape.
template <class G, class X>
bool wanted_gradient(const char* op, const char* name, const tensor_view<G>& grad, const tensor_view<X>& input) {
  if (grad.empty()) return false;
  check(grad.shape == input.shape, op, name, " has shape ", grad.shape, ", expected ", input.shape,
        " (the shape of its input)");
  return true;
}

}  // namespace patchzoo::contract
