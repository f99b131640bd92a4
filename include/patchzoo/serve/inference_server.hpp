#pragma once
// The model-less inference server on the Open Inference Protocol (KServe v2) over cpp-httplib.
// A client names a task and states its accuracy/latency needs; the router picks a concrete model,
// the dynamic batcher runs it, and the response never says which model answered. Which model did is
// recorded only server-side (request log, per-model metrics behind the admin token).
// With per-input selection one request's images may be answered by several models: the server splits
// the batch by chosen model, runs each part, and reassembles the rows in the client's order.
// Consumers link cpp-httplib (pkg-config cpp-httplib).
#include <httplib.h>
// httplib pulls in <resolv.h>, whose `_res` macro breaks Eigen headers included after this one (Eigen
// names parameters `_res`); nothing here uses the resolver state it stands for.
#ifdef _res
#undef _res
#endif

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "patchzoo/core/error.hpp"
#include "patchzoo/psml/make_mechanism.hpp"
#include "patchzoo/psml/router.hpp"
#include "patchzoo/psml/selection_mechanism.hpp"
#include "patchzoo/serve/dynamic_batcher.hpp"
#include "patchzoo/serve/inference_protocol.hpp"
#include "patchzoo/serve/model_executor.hpp"
#include "patchzoo/serve/request_log.hpp"
#include "patchzoo/serve/server_config.hpp"
#include "patchzoo/serve/serving_metrics.hpp"

namespace patchzoo::serve {

class inference_server {
 public:
  inference_server(server_config config, executor_loader loader)
      : config_(std::move(config)), loader_(std::move(loader)) {
    check(static_cast<bool>(loader_), "inference_server", "no executor loader");
    check(config_.http_threads >= 1, "inference_server", "http_threads must be >= 1");
    if (!config_.request_log.empty()) log_ = std::make_unique<request_log>(config_.request_log);
    state_ = load_state();
    batcher_ = std::make_unique<dynamic_batcher>(config_.batching, metrics_);
  }
  ~inference_server() { stop(); }
  inference_server(const inference_server&) = delete;
  inference_server& operator=(const inference_server&) = delete;

  // Binds and starts answering on a background thread; returns once the server accepts connections.
  void start() {
    http_.set_tcp_nodelay(true);  // without it keep-alive clients stall ~40 ms per response (Nagle + delayed ACK)
    http_.set_keep_alive_timeout(1);  // an idle keep-alive connection must not hold up stop() for long
    http_.set_keep_alive_max_count(1000);
    http_.set_read_timeout(2, 0);
    http_.set_write_timeout(2, 0);
    const int threads = config_.http_threads;
    http_.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<std::size_t>(threads)); };
    register_routes();
    port_ = config_.port == 0 ? http_.bind_to_any_port(config_.host)
                              : (http_.bind_to_port(config_.host, config_.port) ? config_.port : -1);
    check(port_ > 0, "inference_server", "cannot listen on ", config_.host, ":", config_.port);
    listener_ = std::thread([this] { http_.listen_after_bind(); });
    for (int waited_ms = 0; !http_.is_running() && waited_ms < 5000; ++waited_ms)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    check(http_.is_running(), "inference_server", "the listener did not start");
    ready_ = true;
  }

  // Stops accepting, lets in-flight requests finish, drains the batcher. Safe to call twice.
  void stop() {
    if (stopped_.exchange(true)) return;
    ready_ = false;
    http_.stop();
    if (listener_.joinable()) listener_.join();
    if (batcher_) batcher_->stop();
  }

  int port() const { return port_; }
  const server_config& config() const { return config_; }
  const serving_metrics& metrics() const { return metrics_; }

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

  static void reply(httplib::Response& res, int status, const nlohmann::ordered_json& body) {
    res.status = status;
    res.set_content(body.dump(), "application/json");
  }
  static void reply_error(httplib::Response& res, int status, const std::string& message) {
    res.status = status;
    res.set_content(error_body(message), "application/json");
  }

  void register_routes() {
    http_.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
      if (res.body.empty())
        res.set_content(error_body(res.status == 404 ? "no such endpoint: " + req.method + " " + req.path
                                                     : "HTTP " + std::to_string(res.status)),
                        "application/json");
    });
    http_.set_exception_handler([this](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
      metrics_.record_failure();
      reply_error(res, 500, "internal server error");
    });
    http_.Get("/v2/health/live", [](const httplib::Request&, httplib::Response& res) { reply(res, 200, {{"live", true}}); });
    http_.Get("/v2/health/ready", [this](const httplib::Request&, httplib::Response& res) {
      reply(res, ready_ ? 200 : 503, {{"ready", ready_.load()}});
    });
    http_.Get(R"(/v2/models/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
      if (known_task(req, res)) reply(res, 200, metadata());
    });
    http_.Get(R"(/v2/models/([^/]+)/ready)", [this](const httplib::Request& req, httplib::Response& res) {
      if (known_task(req, res)) reply(res, ready_ ? 200 : 503, {{"name", config_.task}, {"ready", ready_.load()}});
    });
    http_.Post(R"(/v2/models/([^/]+)/infer)", [this](const httplib::Request& req, httplib::Response& res) {
      if (known_task(req, res)) infer(req, res);
    });
    http_.Get("/metrics", [this](const httplib::Request& req, httplib::Response& res) {
      // Per-model series name models, so only an administrator sees them.
      const bool per_model = !config_.admin_token.empty() && bearer_matches(req);
      res.set_content(metrics_.prometheus_text(per_model), "text/plain; version=0.0.4");
    });
    if (!config_.admin_token.empty()) register_admin_routes();
  }

  bool known_task(const httplib::Request& req, httplib::Response& res) const {
    if (req.matches[1] == config_.task) return true;
    reply_error(res, 404, "unknown model '" + std::string(req.matches[1]) + "': this server serves '" + config_.task + "'");
    return false;
  }

  nlohmann::ordered_json metadata() const {
    const bool probabilities = config_.output == output_kind::probabilities;
    nlohmann::ordered_json out_shape = probabilities ? nlohmann::ordered_json{-1, class_count} : nlohmann::ordered_json{-1};
    return {{"name", config_.task},
            {"versions", nlohmann::ordered_json::array()},
            {"platform", "patchzoo-model-less"},
            {"inputs", {{{"name", "images"}, {"datatype", "FP32"}, {"shape", {-1, 1, image_side, image_side}}}}},
            {"outputs", {{{"name", output_name(config_.output)}, {"datatype", probabilities ? "FP32" : "INT32"}, {"shape", out_shape}}}},
            {"parameters",
             {{"min_accuracy", "optional number in [0, 1]: lowest acceptable top-1 accuracy"},
              {"max_latency_ms", "optional number > 0: highest acceptable profiled latency per image, ms"}}}};
  }

  void infer(const httplib::Request& req, httplib::Response& res) {
    const auto arrived = std::chrono::steady_clock::now();
    nlohmann::ordered_json entry = {{"time", utc_timestamp()}, {"client", req.remote_addr + ":" + std::to_string(req.remote_port)}};
    infer_request request;
    try {
      request = parse_infer_request(req.body, config_.output, config_.max_request_images);
    } catch (const protocol_error& e) {
      metrics_.record_bad_request();
      res.status = 400;
      res.set_content(nlohmann::json{{"error", e.what()}, {"field", e.field()}}.dump(), "application/json");
      entry["status"] = "bad_request";
      entry["error"] = e.what();
      if (log_) log_->write(entry);
      return;
    }
    const std::int64_t images = request.images.dim(0);
    if (request.id) entry["id"] = *request.id;
    entry["parameters"] = request.parameters;
    entry["images"] = images;

    const std::shared_ptr<serving_state> state = current();
    const std::vector<psml::route_decision> decisions =
        state->router->route_inputs(request.service, static_cast<std::size_t>(images));
    const auto& profiles = state->router->profiles();
    nlohmann::ordered_json feasible = nlohmann::ordered_json::array();
    for (std::size_t i : decisions.front().feasible) feasible.push_back(profiles[i].id);
    entry["request_number"] = decisions.front().request_number;
    entry["feasible"] = feasible;
    const bool refused = std::any_of(decisions.begin(), decisions.end(),
                                     [](const psml::route_decision& d) { return d.status == psml::selection_status::infeasible; });
    if (refused) {
      metrics_.record_infeasible();
      reply_error(res, 422, "infeasible: no model for task '" + config_.task + "' meets the request (" + describe(request.service) + ")");
      entry["status"] = "infeasible";
      entry["selected_model"] = nullptr;
      entry["met_request"] = false;
      if (log_) log_->write(entry);
      return;
    }
    const bool per_input = state->router->config().granularity == psml::selection_granularity::per_input;
    if (per_input) {
      nlohmann::ordered_json chosen = nlohmann::ordered_json::array();
      for (const psml::route_decision& d : decisions) chosen.push_back(profiles[d.model_index].id);
      entry["selected_models"] = chosen;
    } else {
      entry["selected_model"] = profiles[decisions.front().model_index].id;
    }
    entry["pinned"] = decisions.front().pinned;
    entry["met_request"] =
        std::all_of(decisions.begin(), decisions.end(), [](const psml::route_decision& d) { return d.met_request; });

    // Rows of the batch per chosen model, in the client's order; one part per model runs through the batcher.
    std::map<std::size_t, std::vector<std::int64_t>> rows_of;
    for (std::size_t row = 0; row < decisions.size(); ++row)
      rows_of[decisions[row].model_index].push_back(static_cast<std::int64_t>(row));
    std::string status = "served";
    try {
      std::vector<std::pair<std::size_t, std::future<tensor<float>>>> parts;
      for (const auto& [model_index, rows] : rows_of) {
        tensor<float> part = rows_of.size() == 1 ? std::move(request.images) : gather_rows(request.images, rows);
        parts.emplace_back(model_index, batcher_->submit(state->executor, model_index, std::move(part)));
      }
      const auto deadline = arrived + config_.request_timeout;
      for (auto& part : parts)
        if (part.second.wait_until(deadline) != std::future_status::ready) status = "timeout";
      if (status == "timeout") {
        reply_error(res, 503, "the request was not answered within " + std::to_string(config_.request_timeout.count()) + " ms");
      } else {
        tensor<float> probabilities({images, class_count});
        for (auto& [model_index, result] : parts) scatter_rows(result.get(), rows_of.at(model_index), probabilities);
        res.status = 200;
        res.set_content(encode_infer_response(config_.task, request.id, probabilities, config_.output), "application/json");
      }
    } catch (const std::exception& e) {
      // The message may name the model, so the client gets a generic one and the log the real one.
      status = "failed";
      entry["error"] = e.what();
      reply_error(res, stopped_ ? 503 : 500, stopped_ ? "the server is shutting down" : "inference failed");
    }
    const double latency_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - arrived).count();
    if (status == "served") {
      for (const auto& [model_index, rows] : rows_of)
        metrics_.record_request(profiles[model_index].id, static_cast<std::int64_t>(rows.size()), latency_ms);
    } else {
      metrics_.record_failure();
    }
    entry["status"] = status;
    entry["latency_ms"] = latency_ms;
    if (log_) log_->write(entry);
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
  static void scatter_rows(const tensor<float>& part, const std::vector<std::int64_t>& rows, tensor<float>& out) {
    check(part.rank() == 2 && part.dim(0) == static_cast<std::int64_t>(rows.size()) && part.dim(1) == out.dim(1),
          "inference_server", "a model returned shape ", part.shape().str(), " for ", rows.size(), " images");
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
  bool bearer_matches(const httplib::Request& req) const {
    const std::string expected = "Bearer " + config_.admin_token;
    const std::string given = req.get_header_value("Authorization");
    unsigned char diff = given.size() == expected.size() ? 0 : 1;
    for (std::size_t i = 0; i < expected.size(); ++i)
      diff |= static_cast<unsigned char>(expected[i] ^ (i < given.size() ? given[i] : 0));
    return diff == 0;
  }

  template <class Handler>
  auto admin(Handler handler) {
    return [this, handler](const httplib::Request& req, httplib::Response& res) {
      if (!bearer_matches(req)) return reply_error(res, 403, "admin endpoints need the header 'Authorization: Bearer <token>'");
      handler(req, res);
    };
  }

  void register_admin_routes() {
    http_.Post("/v2/admin/pin", admin([this](const httplib::Request& req, httplib::Response& res) {
      const nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
      if (body.is_discarded() || !body.is_object() || !body.contains("model_id") || !body["model_id"].is_string())
        return reply_error(res, 400, "model_id: expected a body {\"model_id\": \"<id>\"}");
      const std::shared_ptr<serving_state> state = current();
      const auto index = state->router->find(body["model_id"].get<std::string>());
      if (!index) return reply_error(res, 400, "model_id: no model '" + body["model_id"].get<std::string>() + "' in the zoo");
      state->router->pin(*index);
      reply(res, 200, {{"pinned", body["model_id"]}});
    }));
    http_.Post("/v2/admin/unpin", admin([this](const httplib::Request&, httplib::Response& res) {
      current()->router->unpin();
      reply(res, 200, {{"pinned", nullptr}});
    }));
    http_.Get("/v2/admin/stats", admin([this](const httplib::Request&, httplib::Response& res) { reply(res, 200, admin_stats()); }));
    http_.Post("/v2/admin/reload", admin([this](const httplib::Request&, httplib::Response& res) {
      std::shared_ptr<serving_state> fresh;
      try {
        fresh = load_state();
      } catch (const std::exception& e) {
        return reply_error(res, 500, std::string("reload failed, still serving the previous zoo: ") + e.what());
      }
      {
        std::lock_guard lock(state_mutex_);
        state_ = fresh;
      }
      reply(res, 200, {{"reloaded", true}, {"models", fresh->router->profiles().size()}, {"front", fresh->router->front().size()}});
    }));
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
  httplib::Server http_;
  std::thread listener_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> stopped_{false};
  int port_ = -1;
};

}  // namespace patchzoo::serve
