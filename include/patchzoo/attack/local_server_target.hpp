#pragma once
// The attack experiment's HTTP targets: each target_config gets its own in-process `patchzoo serve`
// (serve::inference_server on 127.0.0.1, a free port, the config's defense and granularity, an admin
// token), attacked through http_target exactly as a remote server would be.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "patchzoo/attack/attack_target.hpp"
#include "patchzoo/attack/http_target.hpp"
#include "patchzoo/serve/inference_server.hpp"

namespace patchzoo::attack {

class local_server_target final : public attack_target {
 public:
  local_server_target(std::shared_ptr<serve::model_executor> executor, const target_config& c)
      : server_(server_config_for(c), [executor] { return executor; }) {
    server_.start();
    target_ = std::make_unique<http_target>(http_client_config{"127.0.0.1", server_.port(), "fashion-mnist", token()});
  }
  ~local_server_target() override { server_.stop(); }

  zoo_client& client() override { return target_->client(); }
  std::map<std::string, std::int64_t> served_images() override { return target_->served_images(); }

 private:
  static std::string token() { return "attack-experiment-admin"; }
  static serve::server_config server_config_for(const target_config& c) {
    serve::server_config s;
    s.port = 0;
    s.policy = c.policy;
    s.routing = routing_for(c);
    s.admin_token = token();
    s.batching.max_queue_delay = std::chrono::microseconds(0);  // one sequential client: waiting only adds latency
    s.defense = c.defense;
    return s;
  }

  serve::inference_server server_;
  std::unique_ptr<http_target> target_;  // made once the server has its port
};

inline target_factory local_server_targets(std::shared_ptr<serve::model_executor> executor) {
  return [executor](const target_config& c) -> std::unique_ptr<attack_target> {
    return std::make_unique<local_server_target>(executor, c);
  };
}

}  // namespace patchzoo::attack
