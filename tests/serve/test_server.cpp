// The server in-process on 127.0.0.1 (a free port), driven by real HTTP requests through httplib::Client:
// every endpoint, answers equal to the models' own, batching, no model identity in any response,
// field-naming errors, admin authorisation, the request log, and a prompt shutdown.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "patchzoo/serve/inference_server.hpp"
#include "patchzoo/serve/zoo_executor.hpp"
#include "serve/linear_executor.hpp"
#include "serve/server_fixture.hpp"
#include "support/temp_dir.hpp"

using namespace patchzoo;
using namespace patchzoo::serve;
using nlohmann::json;
using namespace patchzoo::test;

TEST_CASE("server: health, readiness, metadata and unknown tasks") {
  fixture f(small_config());
  auto c = f.client();
  auto live = c.Get("/v2/health/live");
  REQUIRE(live);
  CHECK(live->status == 200);
  auto ready = c.Get("/v2/health/ready");
  REQUIRE(ready);
  CHECK(ready->status == 200);
  CHECK(json::parse(ready->body)["ready"] == true);

  auto meta = c.Get("/v2/models/fashion-mnist");
  REQUIRE(meta);
  CHECK(meta->status == 200);
  const json m = json::parse(meta->body);
  CHECK(m["name"] == "fashion-mnist");
  CHECK(m["inputs"][0]["name"] == "images");
  CHECK(m["inputs"][0]["shape"] == json{-1, 1, 28, 28});
  CHECK(m["outputs"][0]["name"] == "probabilities");
  CHECK(m["parameters"].contains("min_accuracy"));
  check_no_identity(meta);
  auto model_ready = c.Get("/v2/models/fashion-mnist/ready");
  REQUIRE(model_ready);
  CHECK(model_ready->status == 200);

  for (const char* path : {"/v2/models/zk-best-9c3", "/v2/models/mnist/ready"}) {
    auto res = c.Get(path);
    REQUIRE(res);
    CHECK(res->status == 404);
    CHECK(json::parse(res->body)["error"].get<std::string>().find("fashion-mnist") != std::string::npos);
  }
  auto wrong_task = c.Post("/v2/models/zk-best-9c3/infer", infer_body(image(1), nullptr), "application/json");
  REQUIRE(wrong_task);
  CHECK(wrong_task->status == 404);
  auto nothing = c.Get("/v2/nothing");
  REQUIRE(nothing);
  CHECK(nothing->status == 404);
}

TEST_CASE("server: answers equal the selected model's own output; ids echo; infeasible is explicit") {
  fixture f(small_config());
  auto c = f.client();
  const std::vector<float> x = image(42);
  // Only 'best' (index 2) is accurate enough, so the answer must be exactly its output.
  auto res = c.Post(infer_path, infer_body(x, {{"min_accuracy", 0.9}}, "q-17"), "application/json");
  REQUIRE(res);
  REQUIRE(res->status == 200);
  const json r = json::parse(res->body);
  CHECK(r["model_name"] == "fashion-mnist");
  CHECK(r["id"] == "q-17");
  CHECK(r["outputs"][0]["shape"] == json{1, 10});
  const std::vector<float> expected = test::linear_executor::probabilities(2, x.data());
  CHECK(r["outputs"][0]["data"].get<std::vector<float>>() == expected);
  CHECK(f.executor->calls(2) == 1);

  // UINT8 in the flat [B, 784] form: the same pixels / 255 give the same answer from the fastest model.
  json bytes_body = {{"parameters", {{"max_latency_ms", 1.0}}},
                     {"inputs", {{{"name", "images"}, {"shape", {2, 784}}, {"datatype", "UINT8"}, {"data", json::array()}}}}};
  std::vector<float> scaled(2 * 784);
  for (int i = 0; i < 2 * 784; ++i) {
    bytes_body["inputs"][0]["data"].push_back((i * 7) % 256);
    scaled[i] = static_cast<float>((i * 7) % 256) / 255.0f;
  }
  auto bytes = c.Post(infer_path, bytes_body.dump(), "application/json");
  REQUIRE(bytes);
  REQUIRE(bytes->status == 200);
  const json rb = json::parse(bytes->body);
  CHECK_FALSE(rb.contains("id"));
  std::vector<float> both = test::linear_executor::probabilities(0, scaled.data());
  const std::vector<float> second = test::linear_executor::probabilities(0, scaled.data() + 784);
  both.insert(both.end(), second.begin(), second.end());
  CHECK(rb["outputs"][0]["data"].get<std::vector<float>>() == both);

  auto infeasible = c.Post(infer_path, infer_body(x, {{"min_accuracy", 0.95}, {"max_latency_ms", 3.0}}), "application/json");
  REQUIRE(infeasible);
  CHECK(infeasible->status == 422);
  CHECK(json::parse(infeasible->body)["error"].get<std::string>().find("infeasible") != std::string::npos);
  check_no_identity(infeasible);
  CHECK(f.executor->calls(0) + f.executor->calls(1) + f.executor->calls(2) + f.executor->calls(3) == 2);
}

TEST_CASE("server: the binary tensor extension in and out; bad binary bodies are 400s and the server goes on") {
  fixture f(small_config());
  auto c = f.client();
  const std::vector<float> x = image(8);
  const json header = {{"parameters", {{"min_accuracy", 0.9}}},
                       {"inputs", {{{"name", "images"}, {"shape", {1, 784}}, {"datatype", "FP32"}, {"parameters", {{"binary_data_size", 784 * 4}}}}}},
                       {"outputs", {{{"name", "probabilities"}, {"parameters", {{"binary_data", true}}}}}}};
  const std::string text = header.dump();
  const std::string body = text + std::string(reinterpret_cast<const char*>(x.data()), 784 * 4);
  const httplib::Headers binary_headers = {{"Inference-Header-Content-Length", std::to_string(text.size())}};
  auto res = c.Post(infer_path, binary_headers, body, "application/octet-stream");
  REQUIRE(res);
  REQUIRE(res->status == 200);
  REQUIRE(res->has_header("Inference-Header-Content-Length"));
  const std::size_t json_length = std::stoul(res->get_header_value("Inference-Header-Content-Length"));
  const json r = json::parse(res->body.substr(0, json_length));
  CHECK(r["outputs"][0]["parameters"]["binary_data_size"] == 40);
  REQUIRE(res->body.size() == json_length + 40);
  std::vector<float> got(10);
  std::memcpy(got.data(), res->body.data() + json_length, 40);
  CHECK(got == test::linear_executor::probabilities(2, x.data()));  // the only model accurate enough

  // Truncated tensor bytes, and a header length past the body: 400 naming the field.
  auto cut = c.Post(infer_path, binary_headers, body.substr(0, body.size() - 8), "application/octet-stream");
  REQUIRE(cut);
  CHECK(cut->status == 400);
  CHECK(json::parse(cut->body)["field"] == "inputs[0].parameters.binary_data_size");
  auto past = c.Post(infer_path, {{"Inference-Header-Content-Length", std::to_string(body.size() + 1)}}, body, "application/octet-stream");
  REQUIRE(past);
  CHECK(past->status == 400);
  CHECK(json::parse(past->body)["field"] == "Inference-Header-Content-Length");
  // The server still answers correctly afterwards.
  auto again = c.Post(infer_path, binary_headers, body, "application/octet-stream");
  REQUIRE(again);
  REQUIRE(again->status == 200);
  CHECK(again->body == res->body);
}

TEST_CASE("server: top-1 output by server configuration") {
  server_config config = small_config();
  config.output = output_kind::top1;
  fixture f(config);
  auto c = f.client();
  const std::vector<float> x = image(5);
  auto res = c.Post(infer_path, infer_body(x, {{"min_accuracy", 0.9}}), "application/json");
  REQUIRE(res);
  REQUIRE(res->status == 200);
  const json r = json::parse(res->body);
  const std::vector<float> p = test::linear_executor::probabilities(2, x.data());
  CHECK(r["outputs"][0]["name"] == "labels");
  CHECK(r["outputs"][0]["datatype"] == "INT32");
  CHECK(r["outputs"][0]["data"][0] == std::max_element(p.begin(), p.end()) - p.begin());
}

TEST_CASE("server: malformed requests get 400 naming the field") {
  fixture f(small_config());
  auto c = f.client();
  json bad_value = json::parse(infer_body(image(1), nullptr));
  bad_value["inputs"][0]["data"][12] = -0.5;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not json", "body"},
      {bad_value.dump(), "inputs[0].data[12]"},
      {infer_body(image(1), {{"model_id", "zk-best-9c3"}}), "parameters.model_id"},
      {infer_body(image(1), {{"defense", "none"}}), "parameters.defense"},
      {infer_body(image(1), {{"accuracy", 0.9}}), "parameters.accuracy"},
  };
  for (const auto& [body, field] : cases) {
    auto res = c.Post(infer_path, body, "application/json");
    REQUIRE(res);
    CHECK(res->status == 400);
    const json e = json::parse(res->body);
    CHECK(e["field"] == field);
    CHECK(e["error"].get<std::string>().find(field) != std::string::npos);
    check_no_identity(res);
  }
  CHECK(f.executor->calls(0) + f.executor->calls(1) + f.executor->calls(2) + f.executor->calls(3) == 0);
}

TEST_CASE("server: concurrent requests for one model are batched into fewer predict calls") {
  server_config config = small_config();
  config.batching.max_queue_delay = std::chrono::microseconds(300000);  // a wide window: threads start slowly on a busy machine
  fixture f(config);
  constexpr int clients = 8;
  std::vector<json> answers(clients);
  std::vector<std::thread> threads;
  for (int t = 0; t < clients; ++t)
    threads.emplace_back([&, t] {
      auto c = f.client();
      auto res = c.Post(infer_path, infer_body(image(100 + t), {{"min_accuracy", 0.9}}), "application/json");
      if (res && res->status == 200) answers[t] = json::parse(res->body);
    });
  for (auto& t : threads) t.join();
  CHECK(f.executor->rows(2) == clients);
  CHECK(f.executor->calls(2) < clients);
  CHECK(f.executor->calls(2) <= 3);
  for (int t = 0; t < clients; ++t) {
    REQUIRE_FALSE(answers[t].is_null());
    const std::vector<float> x = image(100 + t);
    CHECK(answers[t]["outputs"][0]["data"].get<std::vector<float>>() == test::linear_executor::probabilities(2, x.data()));
  }
  const auto stats = f.server->metrics().per_model().at("zk-best-9c3");
  CHECK(stats.requests == clients);
  CHECK(stats.batches == static_cast<std::uint64_t>(f.executor->calls(2)));
  CHECK(stats.mean_batch_size() > 1.0);
}

TEST_CASE("server: no model identity in any response under the uniform policy") {
  fixture f(small_config());
  auto c = f.client();
  for (int i = 0; i < 30; ++i) {
    auto res = c.Post(infer_path, infer_body(image(i), {{"min_accuracy", 0.5}}), "application/json");
    REQUIRE(res);
    CHECK(res->status == 200);
    check_no_identity(res);
  }
  int used = 0;
  for (std::size_t m = 0; m < 3; ++m) used += f.executor->calls(m) > 0;
  CHECK(used >= 2);  // several front models served, and still none was named
  CHECK(f.executor->calls(3) == 0);  // the dominated model is never chosen
  for (const char* path : {"/metrics", "/v2/health/ready", "/v2/models/fashion-mnist/ready"}) check_no_identity(c.Get(path));
  const std::string metrics = c.Get("/metrics")->body;
  CHECK(metrics.find("patchzoo_requests_total 30") != std::string::npos);
}

TEST_CASE("server: admin endpoints are absent without a token and need the bearer token with one") {
  {
    fixture off(small_config());
    auto c = off.client();
    for (const char* path : {"/v2/admin/stats"}) {
      auto res = c.Get(path);
      REQUIRE(res);
      CHECK(res->status == 404);
    }
    auto pin = c.Post("/v2/admin/pin", json{{"model_id", "zk-dom-4d4"}}.dump(), "application/json");
    REQUIRE(pin);
    CHECK(pin->status == 404);
  }
  server_config config = small_config();
  config.admin_token = "s3cret";
  fixture f(config);
  auto c = f.client();
  auto anonymous = c.Get("/v2/admin/stats");
  REQUIRE(anonymous);
  CHECK(anonymous->status == 403);
  auto wrong = c.Get("/v2/admin/stats", httplib::Headers{{"Authorization", "Bearer s3cre"}});
  REQUIRE(wrong);
  CHECK(wrong->status == 403);
  const httplib::Headers admin{{"Authorization", "Bearer s3cret"}};

  auto pin = c.Post("/v2/admin/pin", admin, json{{"model_id", "zk-dom-4d4"}}.dump(), "application/json");
  REQUIRE(pin);
  CHECK(pin->status == 200);
  const std::vector<float> x = image(9);
  auto pinned = c.Post(infer_path, infer_body(x, {{"min_accuracy", 0.9}}), "application/json");
  REQUIRE(pinned);
  CHECK(pinned->status == 200);
  check_no_identity(pinned);
  CHECK(f.executor->calls(3) == 1);
  CHECK(json::parse(pinned->body)["outputs"][0]["data"].get<std::vector<float>>() == test::linear_executor::probabilities(3, x.data()));
  auto unknown = c.Post("/v2/admin/pin", admin, json{{"model_id", "nope"}}.dump(), "application/json");
  REQUIRE(unknown);
  CHECK(unknown->status == 400);
  auto unpin = c.Post("/v2/admin/unpin", admin, "", "application/json");
  REQUIRE(unpin);
  CHECK(unpin->status == 200);
  auto after = c.Post(infer_path, infer_body(x, {{"min_accuracy", 0.9}}), "application/json");
  REQUIRE(after);
  CHECK(f.executor->calls(2) == 1);

  auto stats = c.Get("/v2/admin/stats", admin);
  REQUIRE(stats);
  CHECK(stats->status == 200);
  const json s = json::parse(stats->body);
  CHECK(s["models"].size() == 4);
  CHECK(s["models"][3]["on_front"] == false);
  CHECK(s["statistics"]["zk-dom-4d4"]["requests"] == 1);
  CHECK(s["mechanism"] == "none");

  CHECK(c.Get("/metrics", admin)->body.find("patchzoo_model_requests_total{model=\"zk-best-9c3\"} 1") != std::string::npos);
  check_no_identity(c.Get("/metrics"));

  CHECK(c.Post("/v2/admin/reload", httplib::Headers{}, "", "application/json")->status == 403);
  auto reload = c.Post("/v2/admin/reload", admin, "", "application/json");
  REQUIRE(reload);
  CHECK(reload->status == 200);
  CHECK(f.loads == 2);
  CHECK(c.Post(infer_path, infer_body(x, {{"min_accuracy", 0.9}}), "application/json")->status == 200);
}

TEST_CASE("server: the request log records what clients never see") {
  const temp_dir dir("request_log");
  const std::filesystem::path log_path = dir / "requests.jsonl";
  {
    server_config config = small_config();
    config.request_log = log_path;
    fixture f(config);
    auto c = f.client();
    CHECK(c.Post(infer_path, infer_body(image(1), {{"min_accuracy", 0.9}}, "a"), "application/json")->status == 200);
    CHECK(c.Post(infer_path, infer_body(image(1), {{"max_latency_ms", 0.5}}), "application/json")->status == 422);
    CHECK(c.Post(infer_path, "{", "application/json")->status == 400);
  }
  std::ifstream in(log_path);
  std::vector<json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
  REQUIRE(lines.size() == 3);
  CHECK(lines[0]["status"] == "served");
  CHECK(lines[0]["selected_model"] == "zk-best-9c3");
  CHECK(lines[0]["feasible"] == json{"zk-best-9c3"});
  CHECK(lines[0]["met_request"] == true);
  CHECK(lines[0]["id"] == "a");
  CHECK(lines[0]["parameters"]["min_accuracy"] == 0.9);
  CHECK(lines[0]["client"].get<std::string>().rfind("127.0.0.1:", 0) == 0);
  CHECK(lines[0]["time"].get<std::string>().size() == 24);
  CHECK(lines[1]["status"] == "infeasible");
  CHECK(lines[1]["selected_model"].is_null());
  CHECK(lines[1]["feasible"].empty());
  CHECK(lines[2]["status"] == "bad_request");
}

TEST_CASE("server: stop() returns promptly with an idle keep-alive connection open") {
  fixture f(small_config());
  httplib::Client c("127.0.0.1", f.server->port());
  c.set_keep_alive(true);
  REQUIRE(c.Get("/v2/health/live"));
  const auto t0 = std::chrono::steady_clock::now();
  f.server->stop();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(seconds < 1.5);
  httplib::Client after("127.0.0.1", f.server->port());
  after.set_connection_timeout(0, 200000);
  CHECK_FALSE(after.Get("/v2/health/live"));
}

namespace {
// A zoo type with model_zoo's runtime API, to check that the adapter forwards load, profiles and predict.
struct recording_zoo {
  inline static std::filesystem::path last_loaded;
  std::vector<psml::model_profile> profiles_ = test::test_zoo_profiles();
  static recording_zoo load(const std::filesystem::path& dir) {
    last_loaded = dir;
    return recording_zoo{};
  }
  const std::vector<psml::model_profile>& profiles() const { return profiles_; }
  tensor<float> predict(std::size_t model, const tensor<float>& images) const {
    tensor<float> out({images.dim(0), 10});
    out[0] = static_cast<float>(model) + images[0];
    return out;
  }
};
}  // namespace

TEST_CASE("zoo_executor: the loader loads the zoo's directory and the adapter forwards to it") {
  const auto loader = zoo_loader<recording_zoo>("/some/zoo");
  const std::shared_ptr<model_executor> executor = loader();
  CHECK(recording_zoo::last_loaded == "/some/zoo");
  REQUIRE(executor->profiles().size() == 4);
  CHECK(executor->profiles()[2].id == "zk-best-9c3");
  tensor<float> images({1, 1, 28, 28});
  images[0] = 0.25f;
  CHECK(executor->predict(3, images)[0] == 3.25f);
  CHECK(loader().get() != executor.get());  // every call loads afresh (admin reload)
}
