#pragma once
// Shared pieces of the attack tests: a synthetic zoo behind an in-process client, and probe images.
#include <memory>
#include <vector>

#include "patchzoo/attack/in_process_client.hpp"
#include "patchzoo/attack/synthetic_zoo.hpp"
#include "patchzoo/core/rng.hpp"
#include "patchzoo/psml/router.hpp"
#include "patchzoo/psml/selection_mechanism.hpp"

namespace patchzoo::test {

inline tensor<float> random_images(std::int64_t n, std::uint64_t seed) {
  tensor<float> t(shape_t{n, 1, 28, 28});
  for (std::int64_t i = 0; i < t.numel(); ++i) t[i] = uniform01(seed, static_cast<std::uint64_t>(i));
  return t;
}

struct synthetic_setup {
  std::shared_ptr<attack::synthetic_executor> executor;
  std::shared_ptr<psml::router> router;
  std::unique_ptr<attack::in_process_client> client;

  explicit synthetic_setup(const attack::synthetic_zoo_config& zoo,
                           psml::selection_policy policy = psml::selection_policy::uniform,
                           std::unique_ptr<psml::selection_mechanism> mechanism = nullptr,
                           psml::router_config routing = {}) {
    executor = std::make_shared<attack::synthetic_executor>(attack::synthetic_profiles(zoo), zoo.seed);
    if (!mechanism) mechanism = std::make_unique<psml::plain_policy_mechanism>(policy);
    router = std::make_shared<psml::router>(executor->profiles(), routing, std::move(mechanism));
    client = std::make_unique<attack::in_process_client>(executor, router);
  }

  // Front models' profiles, most accurate first (the fingerprinter's rank order).
  std::vector<psml::model_profile> front_by_rank() const {
    std::vector<psml::model_profile> out;
    for (std::size_t i : router->front()) out.push_back(router->profiles()[i]);
    std::reverse(out.begin(), out.end());
    return out;
  }
};

}  // namespace patchzoo::test
