#pragma once
// An attack target behind real HTTP: an in-process `patchzoo serve` (serve::inference_server on
// 127.0.0.1, a free port, the target's defense and granularity, an admin token) reached by http_client.
// Ground truth comes from the server's admin statistics, as an operator would read it.
#include <memory>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "patchzoo/attack/attack_target.hpp"
#include "patchzoo/attack/http_client.hpp"
#include "patchzoo/serve/inference_server.hpp"

namespace patchzoo::attack {

class http_target final : public attack_target {
 public:
  http_target(std::shared_ptr<serve::model_executor> executor, const target_config& c)
      : server_(server_config_for(c), [executor] { return executor; }) {
    server_.start();
    client_ = std::make_unique<http_client>(http_client_config{"127.0.0.1", server_.port(), "fashion-mnist", token()});
    stats_ = std::make_unique<httplib::Client>("127.0.0.1", server_.port());
  }
  ~http_target() override { server_.stop(); }

  zoo_client& client() override { return *client_; }
  std::map<std::string, std::int64_t> served_images() override {
    const auto res = stats_->Get("/v2/admin/stats", {{"Authorization", "Bearer " + token()}});
    check(res && res->status == 200, "http_target", "admin stats failed");
    const nlohmann::json doc = nlohmann::json::parse(res->body);
    std::map<std::string, std::int64_t> out;
    for (const auto& [id, s] : doc.at("statistics").items()) out[id] = s.at("images").get<std::int64_t>();
    return out;
  }

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
  std::unique_ptr<http_client> client_;
  std::unique_ptr<httplib::Client> stats_;
};

inline target_factory http_targets(std::shared_ptr<serve::model_executor> executor) {
  return [executor](const target_config& c) -> std::unique_ptr<attack_target> {
    return std::make_unique<http_target>(executor, c);
  };
}

}  // namespace patchzoo::attack
