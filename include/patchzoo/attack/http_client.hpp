#pragma once
// A zoo_client for `patchzoo serve` over HTTP: the Open Inference Protocol JSON of
// serve/inference_protocol.hpp (POST /v2/models/{task}/infer with min_accuracy / max_latency_ms), a 422
// read as "infeasible", and the admin pin endpoints for the single-model upper bound.
// Consumers link cpp-httplib (pkg-config cpp-httplib).
#include <httplib.h>
// httplib pulls in <resolv.h>, whose `_res` macro breaks Eigen headers included after this one.
#ifdef _res
#undef _res
#endif

#include <cmath>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "patchzoo/attack/zoo_client.hpp"
#include "patchzoo/core/error.hpp"
#include "patchzoo/core/number_text.hpp"

namespace patchzoo::attack {

struct http_client_config {
  std::string host = "127.0.0.1";
  int port = 8000;
  std::string task = "fashion-mnist";
  std::string admin_token;  // only the single-model baseline needs it
  int timeout_s = 30;
};

class http_client final : public zoo_client {
 public:
  explicit http_client(http_client_config config) : config_(std::move(config)), http_(config_.host, config_.port) {
    check(config_.port > 0 && config_.port < 65536, "http_client", "port must be in [1, 65535], got ", config_.port);
    http_.set_tcp_nodelay(true);  // without it keep-alive requests stall on Nagle + delayed ACK
    http_.set_keep_alive(true);
    http_.set_connection_timeout(config_.timeout_s, 0);
    http_.set_read_timeout(config_.timeout_s, 0);
    http_.set_write_timeout(config_.timeout_s, 0);
  }

  void pin_model(const std::string& model_id) override {
    admin_post("/v2/admin/pin", nlohmann::json{{"model_id", model_id}}.dump());
  }
  void unpin_model() override { admin_post("/v2/admin/unpin", "{}"); }

  // The request body for these images and this spec (exposed for tests).
  static std::string encode_request(const psml::service_request& spec, const tensor<float>& images) {
    std::string body = "{\"parameters\":{";
    bool first = true;
    if (spec.min_accuracy) body += "\"min_accuracy\":" + shortest_text(*spec.min_accuracy), first = false;
    if (spec.max_latency_ms) body += std::string(first ? "" : ",") + "\"max_latency_ms\":" + shortest_text(*spec.max_latency_ms);
    const bool bytes = all_bytes(images);
    body += "},\"inputs\":[{\"name\":\"images\",\"shape\":[" + std::to_string(images.dim(0)) + ",1,28,28],\"datatype\":\"";
    body += bytes ? "UINT8" : "FP32";
    body += "\",\"data\":[";
    for (std::int64_t i = 0; i < images.numel(); ++i) {
      if (i) body += ',';
      body += bytes ? std::to_string(static_cast<int>(std::lround(images[i] * 255.0f))) : shortest_text(images[i]);
    }
    body += "]}]}";
    return body;
  }

 protected:
  client_response send(const psml::service_request& spec, const tensor<float>& images) override {
    const auto res = http_.Post("/v2/models/" + config_.task + "/infer", encode_request(spec, images), "application/json");
    check(static_cast<bool>(res), "http_client", "no answer from ", config_.host, ":", config_.port, " (",
          httplib::to_string(res.error()), ")");
    if (res->status == 422) return {};
    check(res->status == 200, "http_client", "infer answered HTTP ", res->status, ": ", res->body);
    const nlohmann::json doc = nlohmann::json::parse(res->body, nullptr, false);
    check(!doc.is_discarded() && doc.contains("outputs") && doc["outputs"].is_array() && !doc["outputs"].empty(),
          "http_client", "infer answer has no outputs: ", res->body.substr(0, 200));
    const nlohmann::json& out = doc["outputs"][0];
    check(out.value("name", "") == "probabilities" && out.contains("data") && out["data"].is_array(), "http_client",
          "expected the 'probabilities' output (the server must run with --output probabilities)");
    const nlohmann::json& data = out["data"];
    check(static_cast<std::int64_t>(data.size()) == images.dim(0) * 10, "http_client", "expected ", images.dim(0) * 10,
          " probabilities, got ", data.size());
    client_response r{tensor<float>(shape_t{images.dim(0), 10}), true};
    for (std::size_t i = 0; i < data.size(); ++i) r.probabilities[static_cast<std::int64_t>(i)] = data[i].get<float>();
    return r;
  }

 private:
  // Dataset images are bytes / 255; sending them as UINT8 is exact and a third of the text.
  static bool all_bytes(const tensor<float>& images) {
    for (std::int64_t i = 0; i < images.numel(); ++i) {
      const float scaled = images[i] * 255.0f;
      if (std::abs(scaled - std::round(scaled)) > 1e-3f || scaled < 0.0f || scaled > 255.0f) return false;
      if (static_cast<float>(std::lround(scaled)) / 255.0f != images[i]) return false;
    }
    return true;
  }

  void admin_post(const std::string& path, const std::string& body) {
    check(!config_.admin_token.empty(), "http_client", path, " needs the server's admin token");
    const httplib::Headers headers = {{"Authorization", "Bearer " + config_.admin_token}};
    const auto res = http_.Post(path, headers, body, "application/json");
    check(static_cast<bool>(res), "http_client", "no answer from ", config_.host, ":", config_.port, " to ", path);
    check(res->status == 200, "http_client", path, " answered HTTP ", res->status, ": ", res->body);
  }

  http_client_config config_;
  httplib::Client http_;
};

}  // namespace patchzoo::attack
