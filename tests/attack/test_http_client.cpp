// The HTTP client against a real server in the test (serve::inference_server on 127.0.0.1, a free port):
// the request body parses back to the same images and spec, answers equal the served model's own,
// infeasible specs read as refusals, the admin pin, and the fingerprinter over HTTP.
#include <doctest/doctest.h>

#include <set>

#include "attack/attack_fixtures.hpp"
#include "patchzoo/attack/fingerprinter.hpp"
#include "patchzoo/attack/http_client.hpp"
#include "patchzoo/attack/local_server_target.hpp"
#include "patchzoo/serve/inference_server.hpp"

using namespace patchzoo;
using namespace patchzoo::attack;

namespace {

struct served_zoo {
  std::shared_ptr<synthetic_executor> executor;
  serve::inference_server server;

  explicit served_zoo(std::size_t models, psml::selection_granularity granularity = psml::selection_granularity::per_request)
      : executor(std::make_shared<synthetic_executor>(synthetic_profiles({.front_models = models, .dominated_models = 1, .seed = 6}), 6)),
        server(config(granularity), [e = executor] { return e; }) {
    server.start();
  }
  static serve::server_config config(psml::selection_granularity granularity) {
    serve::server_config c;
    c.admin_token = "t0ken";
    c.routing.granularity = granularity;
    c.batching.max_queue_delay = std::chrono::microseconds(0);
    return c;
  }
  http_client client(std::string token = "") { return http_client({"127.0.0.1", server.port(), "fashion-mnist", token}); }
};

tensor<float> byte_images(std::int64_t n, std::uint64_t seed) {
  tensor<float> t = test::random_images(n, seed);
  for (std::int64_t i = 0; i < t.numel(); ++i) t[i] = static_cast<float>(std::lround(t[i] * 255.0f)) / 255.0f;
  return t;
}

bool equal_rows(const tensor<float>& a, std::int64_t row_a, const tensor<float>& b, std::int64_t row_b) {
  for (int c = 0; c < 10; ++c)
    if (a[row_a * 10 + c] != b[row_b * 10 + c]) return false;
  return true;
}

}  // namespace

TEST_CASE("http client: the request body parses back to the same images and spec (UINT8 for byte images, FP32 otherwise)") {
  for (bool bytes : {true, false}) {
    const tensor<float> images = bytes ? byte_images(2, 1) : test::random_images(2, 1);
    const psml::service_request spec{0.875, 0.25};
    const std::string body = http_client::encode_request(spec, images);
    CHECK((body.find("\"UINT8\"") != std::string::npos) == bytes);
    const serve::infer_request parsed = serve::parse_infer_request(body, serve::output_kind::probabilities, 1024);
    CHECK(*parsed.service.min_accuracy == 0.875);
    CHECK(*parsed.service.max_latency_ms == 0.25);
    REQUIRE(parsed.images.numel() == images.numel());
    for (std::int64_t i = 0; i < images.numel(); ++i) REQUIRE(parsed.images[i] == images[i]);
  }
  const std::string unconstrained = http_client::encode_request({}, byte_images(1, 2));
  CHECK(serve::parse_infer_request(unconstrained, serve::output_kind::probabilities, 1024).service.min_accuracy == std::nullopt);
}

TEST_CASE("http client: answers are the served model's own, refusals and query counts, admin pin") {
  served_zoo z(3);
  http_client c = z.client("t0ken");
  const tensor<float> images = byte_images(3, 4);
  const auto& profiles = z.executor->profiles();
  // A spec only the most accurate front model (f2) meets.
  const client_response r = c.query({profiles[2].accuracy, std::nullopt}, images);
  REQUIRE(r.answered);
  const tensor<float> truth = z.executor->predict(2, images);
  for (std::int64_t b = 0; b < 3; ++b) CHECK(equal_rows(r.probabilities, b, truth, b));
  CHECK_FALSE(c.query({0.999, std::nullopt}, images).answered);  // infeasible: 422
  CHECK(c.queries() == 6);
  CHECK(c.requests() == 2);

  c.pin_model("f0");
  const client_response pinned = c.query({profiles[2].accuracy, std::nullopt}, images);
  const tensor<float> f0 = z.executor->predict(0, images);
  for (std::int64_t b = 0; b < 3; ++b) CHECK(equal_rows(pinned.probabilities, b, f0, b));
  c.unpin_model();
  CHECK(equal_rows(c.query({profiles[2].accuracy, std::nullopt}, images).probabilities, 0, truth, 0));
  CHECK_THROWS_WITH_AS(c.pin_model("nope"), doctest::Contains("HTTP 400"), error);
  http_client no_token = z.client();
  CHECK_THROWS_WITH_AS(no_token.pin_model("f0"), doctest::Contains("admin token"), error);
}

TEST_CASE("http client: the fingerprinter over HTTP finds the same front and trigger as in-process") {
  served_zoo z(4);
  http_client c = z.client();
  const tensor<float> probes = byte_images(1, 8);
  fingerprint_config cfg;
  cfg.census_requests = 8;
  const fingerprint_result remote = fingerprinter(c, probes, cfg).run(1);
  test::synthetic_setup local({.front_models = 4, .dominated_models = 1, .seed = 6});
  const fingerprint_result here = fingerprinter(*local.client, probes, cfg).run(1);
  REQUIRE(remote.models.size() == 4);
  REQUIRE(here.models.size() == 4);
  for (std::size_t v = 0; v < 4; ++v) {
    CHECK(remote.models[v].accuracy == here.models[v].accuracy);
    CHECK(remote.models[v].latency_ms == here.models[v].latency_ms);
    CHECK(remote.models[v].sig == here.models[v].sig);  // the JSON round trip keeps the probabilities
  }
  CHECK(remote.verified());
  CHECK(remote.queries() == c.queries());
  CHECK(remote.queries() == here.queries());
}

TEST_CASE("http target: server-side ground truth from the admin statistics") {
  auto executor = std::make_shared<synthetic_executor>(synthetic_profiles({.front_models = 3, .dominated_models = 0, .seed = 2}), 2);
  local_server_target target(executor, {});
  const auto before = target.served_images();
  const tensor<float> images = byte_images(5, 3);
  target.client().query({executor->profiles()[2].accuracy, std::nullopt}, images);
  target.client().query({executor->profiles()[1].accuracy, executor->profiles()[1].latency_p50_ms}, images);
  const auto after = target.served_images();
  CHECK(served_share(before, after, "f2") == doctest::Approx(0.5));
  CHECK(served_share(before, after, "f1") == doctest::Approx(0.5));
  CHECK_THROWS_WITH_AS(http_client({"127.0.0.1", 0, "fashion-mnist", ""}), doctest::Contains("port"), error);
  CHECK_THROWS_WITH_AS(http_target({"127.0.0.1", 8000, "fashion-mnist", ""}), doctest::Contains("admin token"), error);
}
