// adamw_optimizer: the learning rate is step()'s argument and nothing else (adamw_config has none), weight
// decay reaches matrices only, and arenas of another layout are refused.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "patchzoo/backend/transfer.hpp"
#include "patchzoo/backend/xtensor/xtensor_backend.hpp"
#include "patchzoo/train/adamw.hpp"

using namespace patchzoo;
using be_t = xtensor_backend;

namespace {

nn::param_layout two_tensors() {
  nn::param_layout layout;
  layout.add("w", shape_t{2, 3});  // rank 2: decayed
  layout.add("gain", shape_t{3});  // rank 1: never decayed
  return layout;
}

nn::param_arena<be_t, float> arena_of(const nn::param_layout& layout, const std::vector<float>& values) {
  nn::param_arena<be_t, float> a(layout);
  std::copy(values.begin(), values.end(), a.flat().data);
  return a;
}

const std::vector<float> start{0.5f, -1.0f, 2.0f, 0.25f, -0.75f, 1.5f, 1.0f, 0.9f, 1.1f};
const std::vector<float> gradient{0.1f, -0.2f, 0.3f, -0.4f, 0.5f, -0.6f, 0.7f, -0.8f, 0.9f};

}  // namespace

// A learning rate in the config would be a second, silently ignored source: keep it from coming back.
template <class Config>
concept has_learning_rate = requires(Config c) { c.lr; };
static_assert(!has_learning_rate<training::adamw_config>);

TEST_CASE("adamw_optimizer: step(lr) applies lr, with decay on matrices only") {
  be_t be;
  const auto layout = two_tensors();
  const training::adamw_config cfg{.weight_decay = 0.1};
  for (const double lr : {0.0, 1e-2, 0.5}) {
    INFO("lr " << lr);
    training::adamw_optimizer<be_t, float> opt(layout, cfg);
    auto params = arena_of(layout, start);
    const auto grads = arena_of(layout, gradient);
    opt.step(be, params, grads, lr);
    const auto after = download(be, params.flat()).to_vector();
    // First step: bias-corrected moments are g and g^2, so the update is lr (wd p + g / (|g| + eps)).
    for (std::size_t i = 0; i < start.size(); ++i) {
      const double decay = i < 6 ? cfg.weight_decay : 0.0, g = gradient[i];
      const double expected = start[i] - lr * (decay * start[i] + g / (std::abs(g) + cfg.eps));
      CHECK(after[i] == doctest::Approx(expected).epsilon(1e-6));
    }
    CHECK(opt.steps() == 1);
  }
}

TEST_CASE("adamw_optimizer: arenas of another layout are refused") {
  be_t be;
  const auto layout = two_tensors();
  nn::param_layout other;
  other.add("w", shape_t{3, 3});
  training::adamw_optimizer<be_t, float> opt(layout, {});
  nn::param_arena<be_t, float> params(other), grads(other);
  CHECK_THROWS_WITH_AS(opt.step(be, params, grads, 1e-3), doctest::Contains("laid out unlike the moments"),
                       patchzoo::error);
  CHECK(opt.steps() == 0);
}
