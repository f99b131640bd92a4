// The Open Inference Protocol forms without a server: request validation names the field, both input
// datatypes and shapes decode to the same images, and the response encodes exactly what was computed.
#include <doctest/doctest.h>

#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "patchzoo/serve/infer_response.hpp"
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
  const json probs = json::parse(encode_infer_response("fashion-mnist", "abc", p, output_kind::probabilities).body);
  CHECK(probs["model_name"] == "fashion-mnist");
  CHECK(probs["id"] == "abc");
  CHECK(probs.size() == 3);
  CHECK(probs["outputs"][0]["name"] == "probabilities");
  CHECK(probs["outputs"][0]["shape"] == json{2, 10});
  CHECK(probs["outputs"][0]["datatype"] == "FP32");
  for (int i = 0; i < 20; ++i) CHECK(probs["outputs"][0]["data"][i].get<float>() == p[i]);

  const json labels = json::parse(encode_infer_response("fashion-mnist", std::nullopt, p, output_kind::top1).body);
  CHECK_FALSE(labels.contains("id"));
  CHECK(labels["outputs"][0]["name"] == "labels");
  CHECK(labels["outputs"][0]["datatype"] == "INT32");
  CHECK(labels["outputs"][0]["shape"] == json{2});
  CHECK(labels["outputs"][0]["data"] == json{9, 3});
}

namespace {

// A binary-extension request: JSON header (binary_data_size = the bytes given) and the raw tensor.
struct binary_body {
  std::string header, bytes;
  std::string body() const { return header + bytes; }
  infer_request parse(std::int64_t max_images = 64) const {
    return parse_infer_request(split_infer_body(body(), std::to_string(header.size())), output_kind::probabilities, max_images);
  }
};

binary_body binary_request(int batch, const std::string& datatype, std::size_t declared_bytes = 0) {
  std::string bytes;
  for (int i = 0; i < batch * 784; ++i) {
    if (datatype == "UINT8") {
      bytes += static_cast<char>(i % 256);
    } else {
      const float v = static_cast<float>((i % 256) / 255.0);
      bytes.append(reinterpret_cast<const char*>(&v), 4);
    }
  }
  const json header = {{"inputs",
                        {{{"name", "images"},
                          {"shape", {batch, 784}},
                          {"datatype", datatype},
                          {"parameters", {{"binary_data_size", declared_bytes ? declared_bytes : bytes.size()}}}}}}};
  return {header.dump(), bytes};
}

std::string binary_rejected_field(const std::string& body, const std::string& header_length) {
  try {
    parse_infer_request(split_infer_body(body, header_length), output_kind::probabilities, 64);
  } catch (const protocol_error& e) {
    CHECK(std::string(e.what()).find(e.field()) == 0);
    return e.field();
  }
  return "(accepted)";
}

}  // namespace

TEST_CASE("binary tensor extension: FP32 and UINT8 bytes decode to the JSON request's images") {
  const infer_request from_json = parse_infer_request(request(2).dump(), output_kind::probabilities, 64);
  for (const char* datatype : {"FP32", "UINT8"}) {
    const infer_request r = binary_request(2, datatype).parse();
    REQUIRE(r.images.shape() == shape_t{2, 1, 28, 28});
    for (std::int64_t i = 0; i < r.images.numel(); ++i) REQUIRE(r.images[i] == doctest::Approx(from_json.images[i]).epsilon(1e-6));
    CHECK_FALSE(r.binary_output);
  }
  json with_output = json::parse(binary_request(1, "UINT8").header);
  with_output["outputs"] = {{{"name", "probabilities"}, {"parameters", {{"binary_data", true}}}}};
  const std::string header = with_output.dump();
  const std::string bytes = binary_request(1, "UINT8").bytes;
  CHECK(parse_infer_request(split_infer_body(header + bytes, std::to_string(header.size())), output_kind::probabilities, 64).binary_output);
  // Without the header the whole body is JSON, as before.
  CHECK(split_infer_body("{}", "").json == "{}");
}

TEST_CASE("binary tensor extension: sizes that disagree, truncated bodies and bad header lengths are 400s naming the field") {
  const binary_body ok = binary_request(1, "FP32");
  const std::string length = std::to_string(ok.header.size());
  CHECK(binary_rejected_field(ok.body(), length) == "(accepted)");
  // The body is cut short: fewer bytes than binary_data_size says.
  CHECK(binary_rejected_field(ok.body().substr(0, ok.body().size() - 3), length) == "inputs[0].parameters.binary_data_size");
  // binary_data_size agrees with the bytes but not with the shape and datatype.
  const binary_body short_tensor = binary_request(1, "FP32");
  json h = json::parse(short_tensor.header);
  h["inputs"][0]["parameters"]["binary_data_size"] = 784;
  CHECK(binary_rejected_field(h.dump() + short_tensor.bytes.substr(0, 784), std::to_string(h.dump().size())) ==
        "inputs[0].parameters.binary_data_size");
  // binary_data_size disagrees with the bytes that follow.
  const binary_body wrong = binary_request(1, "UINT8", 700);
  CHECK(binary_rejected_field(wrong.body(), std::to_string(wrong.header.size())) == "inputs[0].parameters.binary_data_size");
  // A header length past the body, not a number, or cutting the JSON.
  CHECK(binary_rejected_field(ok.body(), std::to_string(ok.body().size() + 1)) == "Inference-Header-Content-Length");
  CHECK(binary_rejected_field(ok.body(), "12x") == "Inference-Header-Content-Length");
  CHECK(binary_rejected_field(ok.body(), "-5") == "Inference-Header-Content-Length");
  CHECK(binary_rejected_field(ok.body(), std::to_string(ok.header.size() - 1)) == "body");
  // Bytes after a JSON request that declares none; data and binary_data_size together; a bad size value.
  const std::string plain = request(1).dump();
  CHECK(binary_rejected_field(plain + "xyz", std::to_string(plain.size())) == "Inference-Header-Content-Length");
  h = json::parse(ok.header);
  h["inputs"][0]["data"] = json::array();
  CHECK(binary_rejected_field(h.dump() + ok.bytes, std::to_string(h.dump().size())) == "inputs[0].data");
  h = json::parse(ok.header);
  h["inputs"][0]["parameters"]["binary_data_size"] = -4;
  CHECK(binary_rejected_field(h.dump() + ok.bytes, std::to_string(h.dump().size())) == "inputs[0].parameters.binary_data_size");
  h["inputs"][0]["parameters"] = {{"compression", "gzip"}};
  CHECK(binary_rejected_field(h.dump() + ok.bytes, std::to_string(h.dump().size())) == "inputs[0].parameters.compression");
  // FP32 bytes outside [0, 1], NaN included.
  for (const float bad : {1.5f, -0.25f, std::numeric_limits<float>::quiet_NaN()}) {
    binary_body b = binary_request(1, "FP32");
    std::memcpy(b.bytes.data() + 4 * 17, &bad, 4);
    CHECK(binary_rejected_field(b.body(), std::to_string(b.header.size())) == "inputs[0].binary_data[17]");
  }
}

TEST_CASE("infer request: fields given twice, deep nesting and invalid JSON are refused") {
  json b = request(1);
  std::string text = b.dump();
  text.insert(text.find("\"datatype\""), "\"name\":\"images\",");
  CHECK_THROWS_WITH_AS(parse_infer_request(text, output_kind::probabilities, 64), doctest::Contains("inputs[0].name: given twice"), protocol_error);
  std::string deep = "{\"id\":\"x\",\"parameters\":{\"min_accuracy\":0.5},\"outputs\":" + std::string(20, '[') + std::string(20, ']') + "}";
  CHECK_THROWS_WITH_AS(parse_infer_request(deep, output_kind::probabilities, 64), doctest::Contains("nested deeper than 8"), protocol_error);
  CHECK_THROWS_WITH_AS(parse_infer_request("{\"inputs\": [1,]}", output_kind::probabilities, 64), doctest::Contains("body: not valid JSON"),
                       protocol_error);
  // The kept parameters are the client's, minified, for the request log.
  b["parameters"] = {{"min_accuracy", 0.5}};
  CHECK(json::parse(parse_infer_request(b.dump(2), output_kind::probabilities, 64).parameters_json) == b["parameters"]);
}

TEST_CASE("infer response: binary_data gives a JSON header with binary_data_size, then the raw values") {
  tensor<float> p({2, 10});
  for (int i = 0; i < 20; ++i) p[i] = 0.02f * static_cast<float>(i);
  p[3] = 0.9f;
  p[15] = 0.95f;
  for (const output_kind kind : {output_kind::probabilities, output_kind::top1}) {
    const encoded_response r = encode_infer_response("fashion-mnist", "q", p, kind, true);
    REQUIRE(r.json_length.has_value());
    const json header = json::parse(r.body.substr(0, *r.json_length));
    const std::size_t values = kind == output_kind::probabilities ? 20 : 2;
    CHECK(header["outputs"][0]["parameters"]["binary_data_size"] == values * 4);
    CHECK_FALSE(header["outputs"][0].contains("data"));
    REQUIRE(r.body.size() == *r.json_length + values * 4);
    if (kind == output_kind::probabilities) {
      CHECK(std::memcmp(r.body.data() + *r.json_length, p.data(), 80) == 0);
    } else {
      std::int32_t labels[2];
      std::memcpy(labels, r.body.data() + *r.json_length, 8);
      CHECK(labels[0] == 3);
      CHECK(labels[1] == 5);
    }
  }
  CHECK_FALSE(encode_infer_response("fashion-mnist", std::nullopt, p, output_kind::top1).json_length.has_value());
}
