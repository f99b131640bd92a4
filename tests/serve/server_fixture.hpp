#pragma once
// The server in-process on 127.0.0.1 (a free port) over the linear test zoo, and the request helpers the
// server tests share.
#include <doctest/doctest.h>

#include <httplib.h>  // the tests' client; httplib's <resolv.h> defines `_res`, which breaks Eigen's headers
#ifdef _res
#undef _res
#endif

#include <algorithm>
#include <cctype>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "patchzoo/core/rng.hpp"
#include "patchzoo/serve/inference_server.hpp"
#include "serve/linear_executor.hpp"

namespace patchzoo::test {

using nlohmann::json;
using serve::inference_server;
using serve::model_executor;
using serve::server_config;

struct fixture {
  std::shared_ptr<test::linear_executor> executor;
  int loads = 0;
  std::unique_ptr<inference_server> server;

  explicit fixture(server_config config, std::chrono::milliseconds predict_delay = {})
      : executor(std::make_shared<test::linear_executor>(test::test_zoo_profiles(), predict_delay)) {
    config.host = "127.0.0.1";
    config.port = 0;
    server = std::make_unique<inference_server>(config, [this]() -> std::shared_ptr<model_executor> {
      ++loads;
      return executor;
    });
    server->start();
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", server->port());
    c.set_connection_timeout(2, 0);
    c.set_read_timeout(10, 0);
    return c;
  }
};

inline server_config small_config() {
  server_config c;
  c.batching.workers = 2;
  c.batching.max_batch = 8;
  c.batching.max_queue_delay = std::chrono::microseconds(1000);
  c.routing.seed = 3;
  return c;
}

inline std::vector<float> image(int seed) {
  std::vector<float> x(784);
  for (int p = 0; p < 784; ++p) x[p] = uniform01(static_cast<std::uint64_t>(seed), static_cast<std::uint64_t>(p));
  return x;
}

inline std::string infer_body(const std::vector<float>& pixels, const json& parameters, const std::string& id = "") {
  json body = {{"inputs", {{{"name", "images"}, {"shape", {1, 1, 28, 28}}, {"datatype", "FP32"}, {"data", pixels}}}}};
  if (!parameters.is_null()) body["parameters"] = parameters;
  if (!id.empty()) body["id"] = id;
  return body.dump();
}

inline constexpr const char* infer_path = "/v2/models/fashion-mnist/infer";

// Model ids and names, lower-cased, must appear nowhere a client can read.
inline void check_no_identity(const httplib::Result& res) {
  REQUIRE(res);
  std::string visible = res->body;
  for (const auto& [key, value] : res->headers) visible += "\n" + key + ": " + value;
  std::transform(visible.begin(), visible.end(), visible.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const auto& p : test::test_zoo_profiles()) {
    CHECK_MESSAGE(visible.find(p.id) == std::string::npos, "model id leaked: ", p.id);
    CHECK_MESSAGE(visible.find(p.name) == std::string::npos, "model name leaked: ", p.name);
  }
  CHECK(visible.find("tinylin") == std::string::npos);
  CHECK(visible.find("zk-") == std::string::npos);
}

}  // namespace patchzoo::test
