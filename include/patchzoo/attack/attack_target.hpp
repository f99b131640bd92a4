#pragma once
// One server configuration under attack: a fresh, seeded router with a defense and a selection
// granularity, reached through a zoo_client, plus the server-side ground truth the experiment measures
// (how many images each model answered). Attack code uses only client(); experiments read served_images().
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "patchzoo/attack/in_process_client.hpp"
#include "patchzoo/psml/defense_config.hpp"
#include "patchzoo/psml/make_mechanism.hpp"
#include "patchzoo/psml/router.hpp"
#include "patchzoo/serve/model_executor.hpp"

namespace patchzoo::attack {

struct target_config {
  psml::defense_config defense;
  psml::selection_granularity granularity = psml::selection_granularity::per_request;
  psml::selection_policy policy = psml::selection_policy::uniform;
  std::uint64_t seed = 0;  // the server's random choices
};

class attack_target {
 public:
  virtual ~attack_target() = default;
  virtual zoo_client& client() = 0;
  // Model id -> images it has answered so far (server-side ground truth).
  virtual std::map<std::string, std::int64_t> served_images() = 0;
};

using target_factory = std::function<std::unique_ptr<attack_target>(const target_config&)>;

inline psml::router_config routing_for(const target_config& c) {
  psml::router_config r;
  r.seed = c.seed;
  r.granularity = c.granularity;
  return r;
}

class in_process_target final : public attack_target {
 public:
  in_process_target(std::shared_ptr<serve::model_executor> executor, const target_config& c)
      : client_(executor, std::make_shared<psml::router>(executor->profiles(), routing_for(c),
                                                         psml::make_mechanism(c.defense, c.policy))) {}
  zoo_client& client() override { return client_; }
  std::map<std::string, std::int64_t> served_images() override {
    std::map<std::string, std::int64_t> out;
    for (std::size_t m : client_.served_models()) ++out[client_.router().profiles()[m].id];
    return out;
  }

 private:
  in_process_client client_;
};

inline target_factory in_process_targets(std::shared_ptr<serve::model_executor> executor) {
  return [executor](const target_config& c) -> std::unique_ptr<attack_target> {
    return std::make_unique<in_process_target>(executor, c);
  };
}

// Images answered by `model_id` between two served_images() snapshots, over all images answered then.
inline double served_share(const std::map<std::string, std::int64_t>& before,
                           const std::map<std::string, std::int64_t>& after, const std::string& model_id) {
  std::int64_t total = 0, mine = 0;
  for (const auto& [id, n] : after) {
    const auto it = before.find(id);
    const std::int64_t delta = n - (it == before.end() ? 0 : it->second);
    total += delta;
    if (id == model_id) mine += delta;
  }
  return total == 0 ? 0.0 : static_cast<double>(mine) / static_cast<double>(total);
}

}  // namespace patchzoo::attack
