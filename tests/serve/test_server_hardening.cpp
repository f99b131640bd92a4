// The inference server against the requests that used to kill it (issue 16 findings 1 and 2): deeply
// nested values in every field of an infer body, and paths whose bytes are not UTF-8. Each must be
// answered 4xx with a valid JSON body, and the server must answer the next request.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "patchzoo/serve/inference_server.hpp"
#include "serve/raw_connection.hpp"
#include "serve/server_fixture.hpp"

using namespace patchzoo;
using namespace patchzoo::serve;
using namespace patchzoo::test;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

std::string nested_arrays(int depth) { return std::string(static_cast<std::size_t>(depth), '[') + std::string(static_cast<std::size_t>(depth), ']'); }

// A valid infer body with `field`'s value replaced by raw JSON text.
std::string body_with(const std::string& field, const std::string& raw_value) {
  const std::string name = field == "name" ? raw_value : "\"images\"";
  const std::string datatype = field == "datatype" ? raw_value : "\"FP32\"";
  const std::string shape = field == "shape" ? raw_value : "[1,784]";
  std::string data = "[";
  for (int i = 0; i < 784; ++i) {
    if (i) data += ',';
    data += i == 0 && field == "data" ? raw_value : "0.5";
  }
  data += "]";
  const std::string outputs = field == "outputs" ? ",\"outputs\":[{\"name\":" + raw_value + "}]" : "";
  return "{\"inputs\":[{\"name\":" + name + ",\"shape\":" + shape + ",\"datatype\":" + datatype + ",\"data\":" + data + "}]" +
         outputs + "}";
}

void check_alive(const fixture& f) {
  auto client = f.client();
  const auto res = client.Post(infer_path, infer_body(image(1), nullptr), "application/json");
  REQUIRE(res);
  CHECK(res->status == 200);
}

}  // namespace

TEST_CASE("server hardening: 100k nested arrays in any field of an infer body are a 400, not a crash") {
  fixture f(small_config());
  auto client = f.client();
  for (const std::string field : {"name", "datatype", "shape", "data", "outputs"}) {
    CAPTURE(field);
    const auto res = client.Post(infer_path, body_with(field, nested_arrays(100000)), "application/json");
    REQUIRE(res);
    CHECK(res->status == 400);
    const json body = json::parse(res->body);
    CHECK(body["field"] == "body");
    CHECK(body["error"].get<std::string>().find("nested deeper than 8 levels") != std::string::npos);
  }
  check_alive(f);
}

TEST_CASE("server hardening: nested values within the depth limit are described, never dumped") {
  fixture f(small_config());
  auto client = f.client();
  const auto res = client.Post(infer_path, body_with("name", "[[[[1,2,3]]]]"), "application/json");
  REQUIRE(res);
  CHECK(res->status == 400);
  const json body = json::parse(res->body);
  CHECK(body["field"] == "inputs[0].name");
  CHECK(body["error"] == "inputs[0].name: expected \"images\", got an array of 1 elements");
  // A long string value is cut short in the message.
  const auto long_name = client.Post(infer_path, body_with("datatype", "\"" + std::string(5000, 'x') + "\""), "application/json");
  REQUIRE(long_name);
  CHECK(long_name->status == 400);
  CHECK(long_name->body.size() < 400);
}

TEST_CASE("server hardening: paths that are not UTF-8 get a 404 with a valid JSON body") {
  fixture f(small_config());
  for (const std::string request : {"GET /%FF HTTP/1.1\r\nHost: x\r\n\r\n",
                                    "POST /v2/models/%FF/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
                                    "GET /v2/models/%C3%28 HTTP/1.1\r\nHost: x\r\n\r\n",
                                    "GET /v2/models/%C3%28/ready HTTP/1.1\r\nHost: x\r\n\r\n"}) {
    CAPTURE(request);
    raw_connection c(f.server->port());
    REQUIRE(c.send(request));
    const std::string response = c.read_response(2000ms);
    CHECK(status_of(response) == 404);
    const json body = json::parse(body_of(response));  // throws on invalid UTF-8
    CHECK(body["error"].get<std::string>().find("\xEF\xBF\xBD") != std::string::npos);  // U+FFFD in place of the bad byte
  }
  check_alive(f);
}

TEST_CASE("server hardening: a wrong method on a known endpoint is 405 naming the allowed one") {
  fixture f(small_config());
  auto client = f.client();
  const auto res = client.Get(infer_path);
  REQUIRE(res);
  CHECK(res->status == 405);
  CHECK(res->get_header_value("Allow") == "POST");
  check_alive(f);
}
