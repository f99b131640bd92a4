// Defenses in the server: a client cannot set any defense parameter (400 naming the field); per-input
// selection splits a batch across models and reassembles every row in order, each row exactly the output
// of the model the request log names; per-request answers a batch with one model; the defense shows in
// the admin statistics only.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "patchzoo/psml/defense_config.hpp"
#include "serve/linear_executor.hpp"
#include "serve/server_fixture.hpp"
#include "support/temp_dir.hpp"

using namespace patchzoo;
using namespace patchzoo::test;
using nlohmann::json;

namespace {

std::string batch_body(const std::vector<std::vector<float>>& images, const json& parameters) {
  json data = json::array();
  for (const auto& x : images)
    for (float v : x) data.push_back(v);
  json body = {{"parameters", parameters},
               {"inputs", {{{"name", "images"}, {"shape", {images.size(), 784}}, {"datatype", "FP32"}, {"data", data}}}}};
  return body.dump();
}

std::vector<json> read_log(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::vector<json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
  return lines;
}

std::size_t index_of(const std::string& id) {
  const auto zoo = test_zoo_profiles();
  for (std::size_t i = 0; i < zoo.size(); ++i)
    if (zoo[i].id == id) return i;
  FAIL("unknown model id ", id);
  return 0;
}

}  // namespace

TEST_CASE("defense server: a client naming any defense parameter gets 400 naming the field") {
  server_config config = small_config();
  config.defense = psml::parse_defense_config("exponential:epsilon=0.5");
  fixture f(config);
  auto c = f.client();
  for (const char* key : {"epsilon", "sensitivity", "defense", "mechanism", "noise", "score", "granularity",
                          "never_looser", "latency_noise_ms"}) {
    CAPTURE(key);
    auto nested = c.Post(infer_path, infer_body(image(1), {{"min_accuracy", 0.8}, {key, 1e9}}), "application/json");
    REQUIRE(nested);
    CHECK(nested->status == 400);
    const json e = json::parse(nested->body);
    CHECK(e["field"] == std::string("parameters.") + key);
    CHECK(e["error"].get<std::string>().find(key) != std::string::npos);
    json top = json::parse(infer_body(image(1), nullptr));
    top[key] = 1e9;
    auto outer = c.Post(infer_path, top.dump(), "application/json");
    REQUIRE(outer);
    CHECK(outer->status == 400);
    CHECK(json::parse(outer->body)["field"] == key);
  }
  CHECK(f.executor->calls(0) + f.executor->calls(1) + f.executor->calls(2) + f.executor->calls(3) == 0);
}

TEST_CASE("defense server: per-input selection splits a batch by model and keeps every row in place") {
  const temp_dir dir("defense_log");
  const std::filesystem::path log_path = dir / "requests.jsonl";
  server_config config = small_config();
  config.defense = psml::parse_defense_config("exponential:epsilon=0");  // uniform over the whole front
  config.routing.granularity = psml::selection_granularity::per_input;
  config.request_log = log_path;
  config.admin_token = "tok";
  std::vector<std::vector<float>> images;
  for (int i = 0; i < 24; ++i) images.push_back(image(500 + i));
  {
    fixture f(config);
    auto c = f.client();
    for (int request = 0; request < 3; ++request) {
      auto res = c.Post(infer_path, batch_body(images, {{"min_accuracy", 0.9}}), "application/json");
      REQUIRE(res);
      REQUIRE(res->status == 200);
      check_no_identity(res);
      const json r = json::parse(res->body);
      CHECK(r["outputs"][0]["shape"] == json{24, 10});
    }
    auto stats = c.Get("/v2/admin/stats", httplib::Headers{{"Authorization", "Bearer tok"}});
    REQUIRE(stats);
    const json s = json::parse(stats->body);
    CHECK(s["mechanism"] == "exponential");
    CHECK(s["defense"] == psml::describe(config.defense));
    CHECK(s["granularity"] == "per-input");
    auto meta = c.Get("/v2/models/fashion-mnist");
    REQUIRE(meta);
    for (const char* hidden : {"epsilon", "exponential", "sensitivity", "per-input"})
      CHECK(meta->body.find(hidden) == std::string::npos);
    CHECK(f.executor->calls(3) == 0);  // the dominated model is never on the front
  }
  const std::vector<json> lines = read_log(log_path);
  REQUIRE(lines.size() == 3);
  std::set<std::string> answered;
  for (std::size_t k = 0; k < lines.size(); ++k) {
    const json& line = lines[k];
    CHECK(line["status"] == "served");
    CHECK(line["request_number"] == 1 + 24 * k);  // consecutive decisions, one per input
    REQUIRE(line["selected_models"].size() == 24);
    CHECK_FALSE(line.contains("selected_model"));
    bool met = true;
    for (const json& id : line["selected_models"]) {
      answered.insert(id.get<std::string>());
      met = met && id == "zk-best-9c3";
    }
    CHECK(line["met_request"] == met);
  }
  CHECK(answered.size() == 3);  // a 24-image batch under a random mechanism is answered by several models

  // Row by row, the answer is exactly the logged model's output for that image.
  const std::filesystem::path again = dir / "rows.jsonl";
  config.request_log = again;
  fixture f(config);
  auto c = f.client();
  auto res = c.Post(infer_path, batch_body(images, {{"max_latency_ms", 4.0}}), "application/json");
  REQUIRE(res);
  REQUIRE(res->status == 200);
  const std::vector<float> data = json::parse(res->body)["outputs"][0]["data"].get<std::vector<float>>();
  const json line = read_log(again).at(0);
  for (std::size_t row = 0; row < images.size(); ++row) {
    const std::vector<float> expected = linear_executor::probabilities(index_of(line["selected_models"][row]), images[row].data());
    CHECK(std::vector<float>(data.begin() + static_cast<std::ptrdiff_t>(row * 10),
                             data.begin() + static_cast<std::ptrdiff_t>(row * 10 + 10)) == expected);
  }
}

TEST_CASE("defense server: per-request selection answers a whole batch with one model") {
  const temp_dir dir("defense_batch");
  const std::filesystem::path log_path = dir / "requests.jsonl";
  server_config config = small_config();
  config.defense = psml::parse_defense_config("permute-and-flip:epsilon=0");
  config.request_log = log_path;
  std::vector<std::vector<float>> images;
  for (int i = 0; i < 12; ++i) images.push_back(image(900 + i));
  std::vector<std::vector<float>> answers;
  {
    fixture f(config);
    auto c = f.client();
    for (int request = 0; request < 6; ++request) {
      auto res = c.Post(infer_path, batch_body(images, {{"min_accuracy", 0.85}}), "application/json");
      REQUIRE(res);
      REQUIRE(res->status == 200);
      answers.push_back(json::parse(res->body)["outputs"][0]["data"].get<std::vector<float>>());
    }
  }
  const std::vector<json> lines = read_log(log_path);
  REQUIRE(lines.size() == 6);
  for (std::size_t k = 0; k < lines.size(); ++k) {
    CHECK(lines[k]["request_number"] == k + 1);
    const std::size_t model = index_of(lines[k]["selected_model"]);
    for (std::size_t row = 0; row < images.size(); ++row) {
      const std::vector<float> expected = linear_executor::probabilities(model, images[row].data());
      CHECK(std::vector<float>(answers[k].begin() + static_cast<std::ptrdiff_t>(row * 10),
                               answers[k].begin() + static_cast<std::ptrdiff_t>(row * 10 + 10)) == expected);
    }
  }
}

TEST_CASE("defense server: noisy-spec with never-looser only serves models that meet the request") {
  server_config config = small_config();
  config.defense = psml::parse_defense_config("noisy-spec:noise=laplace,accuracy=0.05,latency=2");
  config.routing.granularity = psml::selection_granularity::per_input;
  fixture f(config);
  auto c = f.client();
  std::vector<std::vector<float>> images;
  for (int i = 0; i < 16; ++i) images.push_back(image(40 + i));
  for (int request = 0; request < 5; ++request) {
    auto res = c.Post(infer_path, batch_body(images, {{"min_accuracy", 0.85}}), "application/json");  // F = {mid, best}
    REQUIRE(res);
    CHECK(res->status == 200);
  }
  CHECK(f.executor->calls(0) == 0);
  CHECK(f.executor->calls(3) == 0);
  CHECK(f.executor->rows(1) + f.executor->rows(2) == 80);
  CHECK(f.executor->rows(1) > 0);
  CHECK(f.executor->rows(2) > 0);
  auto infeasible = c.Post(infer_path, batch_body(images, {{"min_accuracy", 0.95}}), "application/json");
  REQUIRE(infeasible);
  CHECK(infeasible->status == 422);
}
