#pragma once
// Shared checks of the image-token model tests: whole-model finite differences over a few elements of
// every parameter tensor, and a structured token grid from the Markov source.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <utility>

#include "patchzoo/data/markov_tokens.hpp"
#include "patchzoo/dpar/dpar_batch.hpp"

namespace patchzoo::test {

// Images of `tokens` raster tokens from the Markov chain (each row continues the chain), random labels.
inline dpar::token_grid_batch markov_grid(const data::markov_tokens& source, std::int64_t images,
                                          std::int64_t tokens, std::int64_t row_width, std::int64_t classes,
                                          rng_stream& r) {
  dpar::token_grid_batch g{tokens, row_width, {}, {}};
  const auto chain = source.batch(images, tokens, r);
  g.tokens.assign(chain.inputs.data(), chain.inputs.data() + chain.inputs.numel());
  for (std::int64_t i = 0; i < images; ++i) g.labels.push_back(static_cast<std::int32_t>(r.below(classes)));
  return g;
}

// loss() reruns the forward pass on the model's current parameters; grads must hold d loss / d params.
template <class Model>
void check_model_gradient(Model& model, const std::function<double()>& loss, int per_tensor = 5,
                          double tol = 1e-6) {
  auto params = model.params().flat();
  const auto grads = std::as_const(model.grads()).flat();
  const double eps = 1e-6;
  int checked = 0, failed = 0, nonzero = 0;
  for (const auto& slice : model.layout().slices()) {
    const std::int64_t step = std::max<std::int64_t>(1, slice.shape.numel() / per_tensor);
    for (std::int64_t j = 0; j < slice.shape.numel(); j += step) {
      const std::int64_t i = slice.offset + j;
      const double saved = params.data[i];
      params.data[i] = saved + eps;
      const double up = loss();
      params.data[i] = saved - eps;
      const double down = loss();
      params.data[i] = saved;
      const double numeric = (up - down) / (2 * eps);
      ++checked;
      if (std::abs(grads.data[i]) > 1e-9) ++nonzero;
      if (std::abs(numeric - grads.data[i]) > tol * std::max(1.0, std::abs(numeric))) {
        ++failed;
        FAIL_CHECK(slice.name << "[" << j << "]: analytic " << grads.data[i] << " numeric " << numeric);
      }
    }
  }
  MESSAGE(checked << " gradient elements checked, " << nonzero << " non-zero");
  CHECK(nonzero > checked / 2);  // the check must exercise real gradients, not agree on zeros
  CHECK(failed == 0);
}

}  // namespace patchzoo::test
