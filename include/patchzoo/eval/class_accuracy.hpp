#pragma once
// Class-conditional accuracy: how often the classifier's top-1 class is the class the generator was
// asked for, overall and per requested class.
#include <cstdint>
#include <vector>

#include "patchzoo/core/error.hpp"
#include "patchzoo/core/tensor.hpp"

namespace patchzoo::eval {

struct class_accuracy_result {
  double overall = 0;
  std::vector<double> per_class;         // [C]; 0 for a class never requested
  std::vector<std::int64_t> requested;   // [C]: how many samples asked for each class
};

// probabilities (or logits): [N, C]; requested_classes: N labels in [0, C).
template <class T>
class_accuracy_result class_accuracy(const tensor<T>& probabilities, const std::vector<std::int32_t>& requested_classes) {
  check(probabilities.rank() == 2, "class_accuracy", "probabilities must be [N, C], got ", probabilities.shape().str());
  const std::int64_t n = probabilities.dim(0), c = probabilities.dim(1);
  check(n >= 1 && static_cast<std::int64_t>(requested_classes.size()) == n, "class_accuracy", "got ",
        requested_classes.size(), " requested classes for ", n, " predictions");
  class_accuracy_result r;
  r.per_class.assign(static_cast<std::size_t>(c), 0.0);
  r.requested.assign(static_cast<std::size_t>(c), 0);
  std::int64_t correct = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const auto want = requested_classes[static_cast<std::size_t>(i)];
    check(want >= 0 && want < c, "class_accuracy", "requested class ", want, " of sample ", i, " is outside [0, ", c,
          ")");
    std::int64_t best = 0;
    for (std::int64_t k = 1; k < c; ++k)
      if (probabilities[i * c + k] > probabilities[i * c + best]) best = k;
    ++r.requested[want];
    if (best == want) ++correct, r.per_class[want] += 1.0;
  }
  for (std::int64_t k = 0; k < c; ++k)
    if (r.requested[k] > 0) r.per_class[k] /= static_cast<double>(r.requested[k]);
  r.overall = static_cast<double>(correct) / static_cast<double>(n);
  return r;
}

}  // namespace patchzoo::eval
