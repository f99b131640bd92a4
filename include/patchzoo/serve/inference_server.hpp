#pragma once
// The model-less inference server on the Open Inference Protocol (KServe v2) over an event-driven HTTP server.
// A client names a task and states its accuracy/latency needs; the router picks a concrete model,
// the dynamic batcher runs it, and the response never says which model answered. Which model did is
// recorded only server-side (request log, per-model metrics behind the admin token).
// With per-input selection one request's images may be answered by several models: the server splits
// the batch by chosen model, runs each part, and reassembles the rows in the client's order.
// The HTTP transport is http_server (Boost.Beast, event-driven): consumers link Boost's headers and Threads.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "patchzoo/core/error.hpp"
#include "patchzoo/io/json_limits.hpp"
#include "patchzoo/psml/make_mechanism.hpp"
#include "patchzoo/psml/router.hpp"
#include "patchzoo/psml/selection_mechanism.hpp"
#include "patchzoo/serve/dynamic_batcher.hpp"
#include "patchzoo/serve/http_server.hpp"
#include "patchzoo/serve/infer_response.hpp"
#include "patchzoo/serve/inference_protocol.hpp"
#include "patchzoo/serve/model_executor.hpp"
#include "patchzoo/serve/request_log.hpp"
#include "patchzoo/serve/server_config.hpp"
#include "patchzoo/serve/serving_metrics.hpp"

namespace patchzoo::serve {

// How a parsed infer request ended; each transport maps it to its own status (HTTP 200/422/503/500).
enum class infer_status { served, infeasible, timeout, shutting_down, failed };

struct infer_result {
  infer_status status;
  std::string message;          // for the client when not served; never names a model
  tensor<float> probabilities;  // [B, 10] when served
};

class inference_server {
 public:
  inference_server(server_config config, executor_loader loader)
      : config_(std::move(config)), loader_(std::move(loader)) {
    check(static_cast<bool>(loader_), "inference_server", "no executor loader");
    if (!config_.request_log.empty()) log_ = std::make_unique<request_log>(config_.request_log);
    state_ = load_state();
    batcher_ = std::make_unique<dynamic_batcher>(config_.batching, metrics_);
  }
  ~inference_server() { stop(); }
  inference_server(const inference_server&) = delete;
  inference_server& operator=(const inference_server&) = delete;

  // Binds and starts answering on background threads; returns once the server accepts connections.
  void start() {
    http_ = std::make_unique<http_server>(
        config_.http,
        [this](const http_request& req) {
          try {
            return route(req);
          } catch (...) {
            metrics_.record_failure();  // http_server answers it with the last-resort 500
            throw;
          }
        },
        // An infer request while a worker's share is free runs whole on the I/O thread that read it: it
        // computes but never waits, so it needs no handler thread.
        [this, infer_path = "/v2/models/" + config_.task + "/infer"](const http_request& req) -> std::optional<http_response> {
          if (req.method != "POST" || req.path != infer_path || !batcher_->try_reserve_share()) return std::nullopt;
          const dynamic_batcher::share_guard share(*batcher_);
          try {
            return infer(req, true);
          } catch (...) {
            metrics_.record_failure();
            throw;
          }
        });
    port_ = http_->listen(config_.host, config_.port);
    ready_ = true;
  }

  // Stops accepting, lets in-flight requests finish, drains the batcher. Safe to call twice.
  void stop() {
    if (stopped_.exchange(true)) return;
    ready_ = false;
    if (http_) http_->stop();
    if (batcher_) batcher_->stop();
  }

  // One request from another transport (the gRPC endpoint), parsed by its own parser: routed, run and
  // recorded exactly as an HTTP one. It runs on the calling thread while a worker's share is free.
  infer_result infer(infer_request request, std::string_view client) {
    const auto arrived = std::chrono::steady_clock::now();
    log_entry entry = start_entry(client);
    if (batcher_->try_reserve_share()) {
      const dynamic_batcher::share_guard share(*batcher_);
      return run(std::move(request), entry, arrived, true);
    }
    return run(std::move(request), entry, arrived, false);
  }
  // A request another transport could not parse: counted and logged as the HTTP 400s are.
  void record_bad_request(const protocol_error& e, std::string_view client) {
    log_entry entry = start_entry(client);
    log_bad_request(entry, e);
  }
  bool ready() const { return ready_; }

  int port() const { return port_; }
  const server_config& config() const { return config_; }
  const serving_metrics& metrics() const { return metrics_; }
  // Connections turned away at the cap, and requests answered 503 because too many were waiting.
  std::uint64_t rejected_connections() const { return http_ ? http_->rejected_connections() : 0; }
  std::uint64_t shed_requests() const { return http_ ? http_->shed_requests() : 0; }

 private:
  struct serving_state {
    std::shared_ptr<model_executor> executor;
    std::shared_ptr<psml::router> router;
  };

  std::shared_ptr<serving_state> load_state() const {
    auto state = std::make_shared<serving_state>();
    state->executor = loader_();
    check(state->executor != nullptr, "inference_server", "the loader returned no executor");
    std::unique_ptr<psml::selection_mechanism> mechanism =
        config_.make_mechanism ? config_.make_mechanism() : psml::make_mechanism(config_.defense, config_.policy);
    state->router = std::make_shared<psml::router>(state->executor->profiles(), config_.routing, std::move(mechanism));
    return state;
  }

  std::shared_ptr<serving_state> current() const {
    std::lock_guard lock(state_mutex_);
    return state_;
  }

  static http_response reply(int status, const nlohmann::ordered_json& body) {
    http_response res;
    res.status = status;
    res.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return res;
  }
  static http_response reply_error(int status, const std::string& message) { return http_error_response(status, message); }

  // The endpoints: /v2/health/{live,ready}, /v2/models/{task}[/ready|/infer], /metrics, /v2/admin/*.
  http_response route(const http_request& req) {
    const std::string& path = req.path;
    const bool get = req.method == "GET";
    if (path == "/v2/health/live" && get) return reply(200, {{"live", true}});
    if (path == "/v2/health/ready" && get) return reply(ready_ ? 200 : 503, {{"ready", ready_.load()}});
    if (path == "/metrics" && get) {
      // Per-model series name models, so only an administrator sees them.
      const bool per_model = !config_.admin_token.empty() && bearer_matches(req);
      http_response res;
      res.content_type = "text/plain; version=0.0.4";
      res.body = metrics_.prometheus_text(per_model);
      return res;
    }
    const std::string models = "/v2/models/";
    if (path.rfind(models, 0) == 0) {
      const std::string rest = path.substr(models.size());
      const std::size_t slash = rest.find('/');
      const std::string task = rest.substr(0, slash);
      const std::string action = slash == std::string::npos ? "" : rest.substr(slash + 1);
      if (!task.empty() && (action.empty() || action == "ready" || action == "infer")) {
        const char* allowed = action == "infer" ? "POST" : "GET";
        if (req.method != allowed) return method_not_allowed(req, allowed);
        if (task != config_.task)
          return reply_error(404, "unknown model " + json_quote(task) + ": this server serves " + json_quote(config_.task));
        if (action.empty()) return reply(200, metadata());
        if (action == "ready") return reply(ready_ ? 200 : 503, {{"name", config_.task}, {"ready", ready_.load()}});
        return infer(req, false);
      }
    }
    if (!config_.admin_token.empty() && path.rfind("/v2/admin/", 0) == 0) return admin(req);
    return reply_error(404, "no such endpoint: " + req.method + " " + path);
  }

  static http_response method_not_allowed(const http_request& req, const char* allowed) {
    http_response res = reply_error(405, req.method + " " + req.path + ": method not allowed; use " + allowed);
    res.headers.emplace_back("Allow", allowed);
    return res;
  }

  static nlohmann::ordered_json spec_json(const tensor_spec& spec) {
    return {{"name", spec.name}, {"datatype", spec.datatype}, {"shape", spec.shape}};
  }

  nlohmann::ordered_json metadata() const {
    return {{"name", config_.task},
            {"versions", nlohmann::ordered_json::array()},
            {"platform", model_platform},
            {"inputs", {spec_json(input_spec())}},
            {"outputs", {spec_json(output_spec(config_.output))}},
            {"parameters",
             {{"min_accuracy", "optional number in [0, 1]: lowest acceptable top-1 accuracy"},
              {"max_latency_ms", "optional number > 0: highest acceptable profiled latency per image, ms"}}}};
  }

  // The request log's entry, built only when there is a log: the hot path allocates no JSON DOM.
  struct log_entry {
    std::optional<nlohmann::ordered_json> json;
    template <class V>
    void set(const char* key, V&& value) {
      if (json) (*json)[key] = std::forward<V>(value);
    }
  };

  log_entry start_entry(std::string_view client) const {
    log_entry entry;
    if (log_) entry.json = nlohmann::ordered_json{{"time", utc_timestamp()}, {"client", client}};
    return entry;
  }

  void log_bad_request(log_entry& entry, const protocol_error& e) {
    metrics_.record_bad_request();
    entry.set("status", "bad_request");
    entry.set("error", e.what());
    if (log_) log_->write(*entry.json);
  }

  // With `share_held` the caller holds a worker's share and runs every part of the batch itself.
  http_response infer(const http_request& req, bool share_held) {
    const auto arrived = std::chrono::steady_clock::now();
    log_entry entry = start_entry(log_ ? req.remote_address + ":" + std::to_string(req.remote_port) : std::string());
    infer_request request;
    try {
      request = parse_infer_request(split_infer_body(req.body, req.header(binary_header_length_field)), config_.output,
                                    config_.max_request_images);
    } catch (const protocol_error& e) {
      log_bad_request(entry, e);
      return reply(400, {{"error", e.what()}, {"field", e.field()}});
    }
    const bool binary = request.binary_output;
    const std::optional<std::string> id = request.id;
    infer_result result = run(std::move(request), entry, arrived, share_held);
    switch (result.status) {
      case infer_status::served: break;
      case infer_status::infeasible: return reply_error(422, result.message);
      case infer_status::timeout:
      case infer_status::shutting_down: return reply_error(503, result.message);
      case infer_status::failed: return reply_error(500, result.message);
    }
    encoded_response encoded = encode_infer_response(config_.task, id, result.probabilities, config_.output, binary);
    http_response res;
    res.body = std::move(encoded.body);
    if (encoded.json_length) {
      res.content_type = "application/octet-stream";
      res.headers.emplace_back(binary_header_length_field, std::to_string(*encoded.json_length));
    }
    return res;
  }

  // Routes, runs and records one parsed request: the part every transport shares.
  infer_result run(infer_request request, log_entry& entry, std::chrono::steady_clock::time_point arrived, bool share_held) {
    const std::int64_t images = request.images.dim(0);
    if (entry.json) {
      if (request.id) entry.set("id", *request.id);
      entry.set("parameters", nlohmann::ordered_json::parse(request.parameters_json));
      entry.set("images", images);
    }

    const std::shared_ptr<serving_state> state = current();
    const std::vector<psml::route_decision> decisions =
        state->router->route_inputs(request.service, static_cast<std::size_t>(images));
    const auto& profiles = state->router->profiles();
    if (entry.json) {
      nlohmann::ordered_json feasible = nlohmann::ordered_json::array();
      for (std::size_t i : decisions.front().feasible) feasible.push_back(profiles[i].id);
      entry.set("request_number", decisions.front().request_number);
      entry.set("feasible", std::move(feasible));
    }
    const bool refused = std::any_of(decisions.begin(), decisions.end(),
                                     [](const psml::route_decision& d) { return d.status == psml::selection_status::infeasible; });
    if (refused) {
      metrics_.record_infeasible();
      entry.set("status", "infeasible");
      entry.set("selected_model", nullptr);
      entry.set("met_request", false);
      if (log_) log_->write(*entry.json);
      return {infer_status::infeasible,
              "infeasible: no model for task " + json_quote(config_.task) + " meets the request (" + describe(request.service) + ")", {}};
    }
    const bool per_input = state->router->config().granularity == psml::selection_granularity::per_input;
    if (entry.json) {
      if (per_input) {
        nlohmann::ordered_json chosen = nlohmann::ordered_json::array();
        for (const psml::route_decision& d : decisions) chosen.push_back(profiles[d.model_index].id);
        entry.set("selected_models", std::move(chosen));
      } else {
        entry.set("selected_model", profiles[decisions.front().model_index].id);
      }
      entry.set("pinned", decisions.front().pinned);
      entry.set("met_request",
                std::all_of(decisions.begin(), decisions.end(), [](const psml::route_decision& d) { return d.met_request; }));
    }

    // Rows of the batch per chosen model, in the client's order; one part per model runs through the batcher.
    std::map<std::size_t, std::vector<std::int64_t>> rows_of;
    for (std::size_t row = 0; row < decisions.size(); ++row)
      rows_of[decisions[row].model_index].push_back(static_cast<std::int64_t>(row));
    infer_result result{infer_status::served, {}, {}};
    try {
      std::vector<std::pair<std::size_t, std::future<tensor<float>>>> parts;
      for (const auto& [model_index, rows] : rows_of) {
        tensor<float> part = rows_of.size() == 1 ? std::move(request.images) : gather_rows(request.images, rows);
        parts.emplace_back(model_index, share_held ? batcher_->run_inline(*state->executor, model_index, std::move(part))
                                                   : batcher_->submit(state->executor, model_index, std::move(part)));
      }
      const auto deadline = arrived + config_.request_timeout;
      for (auto& part : parts)
        if (part.second.wait_until(deadline) != std::future_status::ready) result.status = infer_status::timeout;
      if (result.status == infer_status::timeout) {
        result.message = "the request was not answered within " + std::to_string(config_.request_timeout.count()) + " ms";
      } else if (parts.size() == 1) {
        result.probabilities = parts.front().second.get();
        check_part(result.probabilities, images);
      } else {
        result.probabilities = tensor<float>({images, class_count});
        for (auto& [model_index, part] : parts) scatter_rows(part.get(), rows_of.at(model_index), result.probabilities);
      }
    } catch (const std::exception& e) {
      // The message may name the model, so the client gets a generic one and the log the real one.
      result = stopped_ ? infer_result{infer_status::shutting_down, "the server is shutting down", {}}
                        : infer_result{infer_status::failed, "inference failed", {}};
      entry.set("error", e.what());
    }
    const double latency_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - arrived).count();
    if (result.status == infer_status::served) {
      for (const auto& [model_index, rows] : rows_of)
        metrics_.record_request(profiles[model_index].id, static_cast<std::int64_t>(rows.size()), latency_ms);
    } else {
      metrics_.record_failure();
    }
    entry.set("status", status_name(result.status));
    entry.set("latency_ms", latency_ms);
    if (log_) log_->write(*entry.json);
    return result;
  }

  // The request log's words for an outcome.
  static std::string_view status_name(infer_status status) {
    switch (status) {
      case infer_status::served: return "served";
      case infer_status::infeasible: return "infeasible";
      case infer_status::timeout: return "timeout";
      case infer_status::shutting_down:
      case infer_status::failed: return "failed";
    }
    return "failed";
  }

  // images[rows] as a new batch.
  static tensor<float> gather_rows(const tensor<float>& images, const std::vector<std::int64_t>& rows) {
    shape_t shape = images.shape();
    shape[0] = static_cast<std::int64_t>(rows.size());
    tensor<float> out(shape);
    const std::int64_t per_row = images.numel() / images.dim(0);
    for (std::size_t k = 0; k < rows.size(); ++k)
      std::copy(images.data() + rows[k] * per_row, images.data() + (rows[k] + 1) * per_row,
                out.data() + static_cast<std::int64_t>(k) * per_row);
    return out;
  }

  // Row k of `part` goes to row rows[k] of `out`.
  static void check_part(const tensor<float>& part, std::int64_t images) {
    check(part.rank() == 2 && part.dim(0) == images && part.dim(1) == class_count, "inference_server",
          "a model returned shape ", part.shape().str(), " for ", images, " images");
  }

  static void scatter_rows(const tensor<float>& part, const std::vector<std::int64_t>& rows, tensor<float>& out) {
    check_part(part, static_cast<std::int64_t>(rows.size()));
    const std::int64_t width = out.dim(1);
    for (std::size_t k = 0; k < rows.size(); ++k)
      std::copy(part.data() + static_cast<std::int64_t>(k) * width, part.data() + static_cast<std::int64_t>(k + 1) * width,
                out.data() + rows[k] * width);
  }

  static std::string describe(const psml::service_request& r) {
    std::string text;
    if (r.min_accuracy) text += "min_accuracy " + nlohmann::json(*r.min_accuracy).dump();
    if (r.max_latency_ms) text += std::string(text.empty() ? "" : ", ") + "max_latency_ms " + nlohmann::json(*r.max_latency_ms).dump();
    return text.empty() ? "no constraints" : text;
  }

  // Constant-time comparison, so response timing does not reveal how much of a guessed token was right.
  bool bearer_matches(const http_request& req) const {
    const std::string expected = "Bearer " + config_.admin_token;
    const std::string given = req.header("Authorization");
    unsigned char diff = given.size() == expected.size() ? 0 : 1;
    for (std::size_t i = 0; i < expected.size(); ++i)
      diff |= static_cast<unsigned char>(expected[i] ^ (i < given.size() ? given[i] : 0));
    return diff == 0;
  }

  http_response admin(const http_request& req) {
    if (!bearer_matches(req)) return reply_error(403, "admin endpoints need the header 'Authorization: Bearer <token>'");
    const std::string& path = req.path;
    if (path == "/v2/admin/stats" && req.method == "GET") return reply(200, admin_stats());
    if (req.method != "POST") return reply_error(path == "/v2/admin/stats" ? 405 : 404, "no such endpoint: " + req.method + " " + path);
    if (path == "/v2/admin/pin") {
      const nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
      if (json_nesting_depth(req.body) > 2 || body.is_discarded() || !body.is_object() || !body.contains("model_id") ||
          !body["model_id"].is_string())
        return reply_error(400, "model_id: expected a body {\"model_id\": \"<id>\"}");
      const std::shared_ptr<serving_state> state = current();
      const std::string id = body["model_id"].get<std::string>();
      const auto index = state->router->find(id);
      if (!index) return reply_error(400, "model_id: no model " + json_quote(id) + " in the zoo");
      state->router->pin(*index);
      return reply(200, {{"pinned", id}});
    }
    if (path == "/v2/admin/unpin") {
      current()->router->unpin();
      return reply(200, {{"pinned", nullptr}});
    }
    if (path == "/v2/admin/reload") {
      std::shared_ptr<serving_state> fresh;
      try {
        fresh = load_state();
      } catch (const std::exception& e) {
        return reply_error(500, std::string("reload failed, still serving the previous zoo: ") + e.what());
      }
      {
        std::lock_guard lock(state_mutex_);
        state_ = fresh;
      }
      return reply(200, {{"reloaded", true}, {"models", fresh->router->profiles().size()}, {"front", fresh->router->front().size()}});
    }
    return reply_error(404, "no such endpoint: " + req.method + " " + path);
  }

  nlohmann::ordered_json admin_stats() const {
    const std::shared_ptr<serving_state> state = current();
    const psml::router& router = *state->router;
    nlohmann::ordered_json models = nlohmann::ordered_json::array();
    const auto& front = router.front();
    for (std::size_t i = 0; i < router.profiles().size(); ++i) {
      const psml::model_profile& p = router.profiles()[i];
      models.push_back({{"id", p.id}, {"name", p.name}, {"accuracy", p.accuracy}, {"latency_p50_ms", p.latency_p50_ms},
                        {"latency_p99_ms", p.latency_p99_ms}, {"on_front", std::find(front.begin(), front.end(), i) != front.end()}});
    }
    const auto pinned = router.pinned();
    return {{"task", config_.task},
            {"mechanism", router.mechanism().name()},
            {"defense", config_.make_mechanism ? router.mechanism().name() : psml::describe(config_.defense)},
            {"granularity", psml::granularity_name(router.config().granularity)},
            {"policy", psml::policy_name(config_.policy)},
            {"latency_metric", router.config().metric == psml::latency_metric::p50 ? "p50" : "p99"},
            {"pinned", pinned ? nlohmann::ordered_json(router.profiles()[*pinned].id) : nlohmann::ordered_json(nullptr)},
            {"models", models},
            {"statistics", metrics_.per_model_json()}};
  }

  server_config config_;
  executor_loader loader_;
  serving_metrics metrics_;
  std::unique_ptr<request_log> log_;
  mutable std::mutex state_mutex_;
  std::shared_ptr<serving_state> state_;
  std::unique_ptr<dynamic_batcher> batcher_;
  std::unique_ptr<http_server> http_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> stopped_{false};
  int port_ = -1;
};

}  // namespace patchzoo::serve
