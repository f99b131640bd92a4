#pragma once
// Builds the classifier an architecture spec describes.
#include <cstdint>
#include <memory>

#include "patchzoo/zoo/sequential.hpp"
#include "patchzoo/zoo/vit.hpp"

namespace patchzoo::zoo {

template <backend B, real T>
std::unique_ptr<classifier<B, T>> make_classifier(const architecture& spec, std::uint64_t seed) {
  if (const auto* s = std::get_if<sequential_spec>(&spec)) return std::make_unique<sequential_classifier<B, T>>(*s, seed);
  return std::make_unique<vit_classifier<B, T>>(std::get<vit_spec>(spec), seed);
}

}  // namespace patchzoo::zoo
