#pragma once
// Builds the selection mechanism a defense configuration names. `policy` is the plain choice inside a
// feasible set, used by "none" and by noisy-spec after the noise.
#include <memory>

#include "patchzoo/core/error.hpp"
#include "patchzoo/psml/defense_config.hpp"
#include "patchzoo/psml/exponential_mechanism.hpp"
#include "patchzoo/psml/noisy_spec_mechanism.hpp"
#include "patchzoo/psml/permute_and_flip.hpp"
#include "patchzoo/psml/selection_mechanism.hpp"
#include "patchzoo/psml/selection_policy.hpp"

namespace patchzoo::psml {

inline std::unique_ptr<selection_mechanism> make_mechanism(const defense_config& config, selection_policy policy) {
  validate(config);
  switch (config.kind) {
    case defense_kind::none: return std::make_unique<plain_policy_mechanism>(policy);
    case defense_kind::exponential: return std::make_unique<exponential_mechanism>(config);
    case defense_kind::permute_and_flip: return std::make_unique<permute_and_flip_mechanism>(config);
    case defense_kind::noisy_spec: return std::make_unique<noisy_spec_mechanism>(config, policy);
  }
  throw error("make_mechanism: unknown defense kind");
}

}  // namespace patchzoo::psml
