#pragma once
// What the server needs from a zoo of classifiers: their stored profiles and a batched predict. The
// server never depends on how the models are built, so tests can serve small hand-made models.
#include <cstddef>
#include <vector>

#include "patchzoo/core/tensor.hpp"
#include "patchzoo/psml/model_profile.hpp"

namespace patchzoo::serve {

class model_executor {
 public:
  virtual ~model_executor() = default;
  virtual const std::vector<psml::model_profile>& profiles() const = 0;
  // images [B, 1, 28, 28] in [0, 1] -> class probabilities [B, 10]. Called from several threads at once.
  virtual tensor<float> predict(std::size_t model_index, const tensor<float>& images) = 0;
};

}  // namespace patchzoo::serve
