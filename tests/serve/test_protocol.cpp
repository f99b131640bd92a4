// The Open Inference Protocol forms without a server: request validation names the field, both input
// datatypes and shapes decode to the same images, and the response encodes exactly what was computed.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "patchzoo/serve/inference_protocol.hpp"

using namespace patchzoo;
using namespace patchzoo::serve;
using nlohmann::json;

namespace {

json request(int batch, const std::string& datatype = "FP32", json shape = nullptr) {
  json data = json::array();
  for (int i = 0; i < batch * 784; ++i) data.push_back(datatype == "UINT8" ? json(i % 256) : json((i % 256) / 255.0));
  if (shape.is_null()) shape = {batch, 1, 28, 28};
  return {{"inputs", {{{"name", "images"}, {"shape", shape}, {"datatype", datatype}, {"data", data}}}}};
}

std::string rejected_field(const json& body) {
  try {
    parse_infer_request(body.dump(), output_kind::probabilities, 64);
  } catch (const protocol_error& e) {
    CHECK(std::string(e.what()).find(e.field()) == 0);  // the message starts with the field's path
    return e.field();
  }
  return "(accepted)";
}

}  // namespace

TEST_CASE("infer request: parameters, id and both datatypes and shapes") {
  json body = request(2);
  body["id"] = "req-1";
  body["parameters"] = {{"min_accuracy", 0.88}, {"max_latency_ms", 2.5}};
  const infer_request r = parse_infer_request(body.dump(), output_kind::probabilities, 64);
  CHECK(r.id == std::optional<std::string>("req-1"));
  CHECK(*r.service.min_accuracy == doctest::Approx(0.88));
  CHECK(*r.service.max_latency_ms == doctest::Approx(2.5));
  CHECK(r.images.shape() == shape_t{2, 1, 28, 28});
  CHECK(r.images[300] == static_cast<float>((300 % 256) / 255.0));

  const infer_request bytes = parse_infer_request(request(2, "UINT8", {2, 784}).dump(), output_kind::probabilities, 64);
  CHECK(bytes.images.shape() == shape_t{2, 1, 28, 28});
  CHECK_FALSE(bytes.service.min_accuracy.has_value());
  CHECK_FALSE(bytes.id.has_value());
  for (std::int64_t i = 0; i < r.images.numel(); i += 97) CHECK(bytes.images[i] == doctest::Approx(r.images[i]).epsilon(1e-6));
}

TEST_CASE("infer request: every malformed part is rejected naming its field") {
  CHECK(rejected_field(request(1)) == "(accepted)");
  CHECK_THROWS_WITH_AS(parse_infer_request("{\"inputs\": [", output_kind::probabilities, 64), doctest::Contains("body"), protocol_error);
  CHECK(rejected_field(json::array()) == "body");
  CHECK(rejected_field(json::object()) == "inputs");
  json two_inputs = request(1);
  two_inputs["inputs"].push_back(two_inputs["inputs"][0]);
  CHECK(rejected_field(two_inputs) == "inputs");

  json b = request(1);
  b["inputs"][0]["name"] = "pixels";
  CHECK(rejected_field(b) == "inputs[0].name");
  CHECK(rejected_field(request(1, "FP32", {1, 3, 28, 28})) == "inputs[0].shape");
  CHECK(rejected_field(request(1, "FP32", {1, 783})) == "inputs[0].shape");
  CHECK(rejected_field(request(1, "FP32", {0, 784})) == "inputs[0].shape");
  b = request(1);
  b["inputs"][0]["shape"] = {65, 784};
  CHECK(rejected_field(b) == "inputs[0].shape");  // over the server's batch limit
  b = request(1);
  b["inputs"][0]["datatype"] = "FP64";
  CHECK(rejected_field(b) == "inputs[0].datatype");
  b = request(1);
  b["inputs"][0]["data"].erase(b["inputs"][0]["data"].begin());
  CHECK(rejected_field(b) == "inputs[0].data");
  b = request(1);
  b["inputs"][0]["data"][5] = 1.5;
  CHECK(rejected_field(b) == "inputs[0].data[5]");
  b = request(1);
  b["inputs"][0]["data"][7] = "x";
  CHECK(rejected_field(b) == "inputs[0].data[7]");
  b = request(1, "UINT8");
  b["inputs"][0]["data"][9] = 300;
  CHECK(rejected_field(b) == "inputs[0].data[9]");
  b = request(1, "UINT8");
  b["inputs"][0]["data"][9] = 0.5;
  CHECK(rejected_field(b) == "inputs[0].data[9]");
  b = request(1);
  b["inputs"][0].erase("datatype");
  CHECK(rejected_field(b) == "inputs[0].datatype");
  b = request(1);
  b["inputs"][0]["extra"] = 1;
  CHECK(rejected_field(b) == "inputs[0].extra");

  b = request(1);
  b["parameters"] = {{"min_accuracy", 88}};
  CHECK(rejected_field(b) == "parameters.min_accuracy");
  b["parameters"] = {{"max_latency_ms", -1}};
  CHECK(rejected_field(b) == "parameters.max_latency_ms");
  b["parameters"] = {{"max_latency_ms", "fast"}};
  CHECK(rejected_field(b) == "parameters.max_latency_ms");
  b["parameters"] = {{"temperature", 1}};
  CHECK(rejected_field(b) == "parameters.temperature");
  b["parameters"] = json::array();
  CHECK(rejected_field(b) == "parameters");
  b = request(1);
  b["id"] = 7;
  CHECK(rejected_field(b) == "id");
  b = request(1);
  b["priority"] = 1;
  CHECK(rejected_field(b) == "priority");
  b = request(1);
  b["outputs"] = {{{"name", "logits"}}};
  CHECK(rejected_field(b) == "outputs[0].name");
  b["outputs"] = {{{"name", "probabilities"}}};
  CHECK(rejected_field(b) == "(accepted)");
}

TEST_CASE("infer request: a client cannot choose the model or the defense") {
  for (const char* key : {"model_id", "model_name", "model_version", "defense", "epsilon", "policy", "seed"}) {
    json b = request(1);
    b["parameters"] = {{key, "x"}};
    CHECK(rejected_field(b) == std::string("parameters.") + key);
    json top = request(1);
    top[key] = "x";
    CHECK(rejected_field(top) == key);
    try {
      parse_infer_request(top.dump(), output_kind::probabilities, 64);
    } catch (const protocol_error& e) {
      CHECK(std::string(e.what()).find("server-only") != std::string::npos);
    }
  }
}

TEST_CASE("infer response: probabilities round-trip exactly; top1 is the argmax; no model identity") {
  tensor<float> p({2, 10});
  for (int i = 0; i < 20; ++i) p[i] = 0.01f * static_cast<float>(i) + 1.0f / 3.0f;
  p[13] = 0.9f;
  const json probs = json::parse(encode_infer_response("fashion-mnist", "abc", p, output_kind::probabilities));
  CHECK(probs["model_name"] == "fashion-mnist");
  CHECK(probs["id"] == "abc");
  CHECK(probs.size() == 3);
  CHECK(probs["outputs"][0]["name"] == "probabilities");
  CHECK(probs["outputs"][0]["shape"] == json{2, 10});
  CHECK(probs["outputs"][0]["datatype"] == "FP32");
  for (int i = 0; i < 20; ++i) CHECK(probs["outputs"][0]["data"][i].get<float>() == p[i]);

  const json labels = json::parse(encode_infer_response("fashion-mnist", std::nullopt, p, output_kind::top1));
  CHECK_FALSE(labels.contains("id"));
  CHECK(labels["outputs"][0]["name"] == "labels");
  CHECK(labels["outputs"][0]["datatype"] == "INT32");
  CHECK(labels["outputs"][0]["shape"] == json{2});
  CHECK(labels["outputs"][0]["data"] == json{9, 3});
}
