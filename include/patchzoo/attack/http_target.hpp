#pragma once
// An attack target behind HTTP: any Open Inference Protocol server (`patchzoo serve`) at host:port, reached
// by http_client. Ground truth comes from the server's admin statistics, as an operator would read it, so
// the target needs the admin token. Only an HTTP client: local_server_target.hpp starts a server to attack.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "patchzoo/attack/attack_target.hpp"
#include "patchzoo/attack/http_client.hpp"

namespace patchzoo::attack {

class http_target final : public attack_target {
 public:
  explicit http_target(const http_client_config& c) : client_(c), stats_(c.host, c.port), admin_token_(c.admin_token) {
    check(!admin_token_.empty(), "http_target", "the server's admin statistics need its admin token");
    stats_.set_connection_timeout(c.timeout_s, 0);
    stats_.set_read_timeout(c.timeout_s, 0);
  }

  zoo_client& client() override { return client_; }
  std::map<std::string, std::int64_t> served_images() override {
    const auto res = stats_.Get("/v2/admin/stats", {{"Authorization", "Bearer " + admin_token_}});
    check(res && res->status == 200, "http_target", "admin stats failed");
    const nlohmann::json doc = nlohmann::json::parse(res->body);
    std::map<std::string, std::int64_t> out;
    for (const auto& [id, s] : doc.at("statistics").items()) out[id] = s.at("images").get<std::int64_t>();
    return out;
  }

 private:
  http_client client_;
  httplib::Client stats_;
  std::string admin_token_;
};

}  // namespace patchzoo::attack
