#pragma once
// The Open Inference Protocol (KServe v2) JSON forms this server speaks: a model-less infer request
// (the client states accuracy/latency needs in "parameters", never a model) and its response. Every
// rejection names the offending field, e.g. "inputs[0].data[17]: ...". Client values appear in messages
// only through describe_json_value (scalars cut short, containers by size): never dumped recursively.
#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "patchzoo/core/error.hpp"
#include "patchzoo/core/tensor.hpp"
#include "patchzoo/io/json_limits.hpp"
#include "patchzoo/psml/service_request.hpp"

namespace patchzoo::serve {

inline constexpr std::int64_t image_side = 28;
inline constexpr std::int64_t image_pixels = image_side * image_side;
inline constexpr std::int64_t class_count = 10;

enum class output_kind { probabilities, top1 };

inline output_kind parse_output_kind(std::string_view text) {
  if (text == "probabilities") return output_kind::probabilities;
  if (text == "top1") return output_kind::top1;
  throw error("output_kind: expected 'probabilities' or 'top1', got " + json_quote(text));
}

// The name of the one output tensor the server returns.
inline const char* output_name(output_kind kind) { return kind == output_kind::probabilities ? "probabilities" : "labels"; }

// A malformed request (HTTP 400); field() is the JSON path of what is wrong.
class protocol_error : public std::runtime_error {
 public:
  protocol_error(std::string field, const std::string& message)
      : std::runtime_error(field + ": " + message), field_(std::move(field)) {}
  const std::string& field() const { return field_; }

 private:
  std::string field_;
};

struct infer_request {
  std::optional<std::string> id;
  psml::service_request service;
  nlohmann::json parameters = nlohmann::json::object();  // as sent, for the server-side log
  tensor<float> images;                                  // [B, 1, 28, 28] in [0, 1]
};

namespace protocol_detail {

using nlohmann::json;

// Names a client might use to choose the model, the defense or its parameters: the server alone decides
// those (psml.md 4.2: the paper's prototype took epsilon from the client, which lets an attacker switch the
// defense off).
inline bool server_only(const std::string& key) {
  static const std::set<std::string> names = {
      "model",        "model_id",       "model_name",       "model_version", "version",     "pin",
      "policy",       "seed",           "defense",          "mechanism",     "epsilon",     "eps",
      "sensitivity",  "delta",          "score",            "utility",       "noise",       "noise_scale",
      "accuracy_noise", "latency_noise", "latency_noise_ms", "never_looser",  "granularity", "privacy"};
  return names.count(key) != 0;
}

inline void reject_server_only(const std::string& path, const std::string& key) {
  if (server_only(key))
    throw protocol_error(path, "server-only field: the server alone chooses the model and how it selects one");
}

inline double number_in(const json& value, const std::string& path) {
  if (!value.is_number()) throw protocol_error(path, "expected a number, got " + std::string(value.type_name()));
  return value.get<double>();
}

inline psml::service_request parse_parameters(const json& parameters) {
  if (!parameters.is_object()) throw protocol_error("parameters", "expected an object");
  psml::service_request out;
  for (const auto& [key, value] : parameters.items()) {
    const std::string path = "parameters." + key;
    reject_server_only(path, key);
    if (key == "min_accuracy") {
      const double a = number_in(value, path);
      if (!(a >= 0.0 && a <= 1.0)) throw protocol_error(path, "expected a fraction in [0, 1] (e.g. 0.88), got " + describe_json_value(value));
      out.min_accuracy = a;
    } else if (key == "max_latency_ms") {
      const double l = number_in(value, path);
      if (!(std::isfinite(l) && l > 0.0)) throw protocol_error(path, "expected a latency in ms > 0, got " + describe_json_value(value));
      out.max_latency_ms = l;
    } else {
      throw protocol_error(path, "unknown parameter; accepted: min_accuracy, max_latency_ms");
    }
  }
  return out;
}

// A shape of integers as "[2, 784]"; anything else by describe_json_value.
inline std::string describe_shape(const json& shape) {
  if (!shape.is_array() || shape.size() > 8) return describe_json_value(shape);
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + describe_json_value(shape[i]);
  return text + "]";
}

inline std::int64_t parse_batch(const json& shape, std::int64_t max_images) {
  const std::string path = "inputs[0].shape";
  if (!shape.is_array()) throw protocol_error(path, "expected an array of integers");
  for (const json& d : shape)
    if (!d.is_number_integer()) throw protocol_error(path, "expected an array of integers, got " + describe_json_value(d));
  const bool image_form = shape.size() == 4 && shape[1] == 1 && shape[2] == image_side && shape[3] == image_side;
  const bool flat_form = shape.size() == 2 && shape[1] == image_pixels;
  if (!image_form && !flat_form) throw protocol_error(path, "expected [B, 1, 28, 28] or [B, 784], got " + describe_shape(shape));
  if (!shape[0].is_number_unsigned() || shape[0].get<std::uint64_t>() > static_cast<std::uint64_t>(max_images))
    throw protocol_error(path, "batch size must be in [1, " + std::to_string(max_images) + "], got " + describe_json_value(shape[0]));
  const std::int64_t batch = shape[0].get<std::int64_t>();
  if (batch < 1 || batch > max_images)
    throw protocol_error(path, "batch size must be in [1, " + std::to_string(max_images) + "], got " + std::to_string(batch));
  return batch;
}

inline tensor<float> parse_images(const json& input, std::int64_t max_images) {
  if (!input.is_object()) throw protocol_error("inputs[0]", "expected an object");
  for (const auto& [key, value] : input.items())
    if (key != "name" && key != "shape" && key != "datatype" && key != "data")
      throw protocol_error("inputs[0]." + key, "unknown field; accepted: name, shape, datatype, data");
  for (const char* key : {"name", "shape", "datatype", "data"})
    if (!input.contains(key)) throw protocol_error(std::string("inputs[0].") + key, "missing");
  if (input["name"] != "images") throw protocol_error("inputs[0].name", "expected \"images\", got " + describe_json_value(input["name"]));
  const std::int64_t batch = parse_batch(input["shape"], max_images);
  const json& datatype = input["datatype"];
  if (datatype != "FP32" && datatype != "UINT8")
    throw protocol_error("inputs[0].datatype", "expected \"FP32\" (values in [0, 1]) or \"UINT8\" (0..255), got " + describe_json_value(datatype));
  const bool bytes = datatype == "UINT8";
  const json& data = input["data"];
  if (!data.is_array()) throw protocol_error("inputs[0].data", "expected a flat array of numbers in row-major order");
  const std::int64_t expected = batch * image_pixels;
  if (static_cast<std::int64_t>(data.size()) != expected)
    throw protocol_error("inputs[0].data", "shape needs " + std::to_string(expected) + " values, got " + std::to_string(data.size()));

  tensor<float> images({batch, 1, image_side, image_side});
  float* out = images.data();
  std::int64_t i = 0;
  for (const json& v : data) {
    if (bytes) {
      if (!v.is_number_integer() || v.get<std::int64_t>() < 0 || v.get<std::int64_t>() > 255)
        throw protocol_error("inputs[0].data[" + std::to_string(i) + "]", "UINT8 values must be integers in 0..255, got " + describe_json_value(v));
      out[i] = static_cast<float>(v.get<std::int64_t>()) / 255.0f;
    } else {
      if (!v.is_number()) throw protocol_error("inputs[0].data[" + std::to_string(i) + "]", "expected a number, got " + describe_json_value(v));
      const double x = v.get<double>();
      if (!(x >= 0.0 && x <= 1.0))
        throw protocol_error("inputs[0].data[" + std::to_string(i) + "]", "FP32 values must be in [0, 1], got " + describe_json_value(v));
      out[i] = static_cast<float>(x);
    }
    ++i;
  }
  return images;
}

inline void parse_requested_outputs(const json& outputs, output_kind kind) {
  if (!outputs.is_array()) throw protocol_error("outputs", "expected an array");
  for (std::size_t k = 0; k < outputs.size(); ++k) {
    const std::string path = "outputs[" + std::to_string(k) + "]";
    if (!outputs[k].is_object() || !outputs[k].contains("name")) throw protocol_error(path, "expected an object with a name");
    for (const auto& [key, value] : outputs[k].items())
      if (key != "name") throw protocol_error(path + "." + key, "unknown field; accepted: name");
    if (outputs[k]["name"] != output_name(kind))
      throw protocol_error(path + ".name", std::string("this server returns \"") + output_name(kind) + "\", not " +
                                               describe_json_value(outputs[k]["name"]));
  }
}

}  // namespace protocol_detail

// Parses and validates a POST /v2/models/{task}/infer body. Throws protocol_error on any problem.
inline infer_request parse_infer_request(std::string_view body, output_kind kind, std::int64_t max_images) {
  using nlohmann::json;
  // Three levels suffice (body, inputs, tensor); a few more leave room for clients' harmless extras to be named.
  constexpr int max_depth = 8;
  if (json_nesting_depth(body, max_depth) > max_depth)
    throw protocol_error("body", "JSON nested deeper than " + std::to_string(max_depth) + " levels");
  const json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded()) throw protocol_error("body", "not valid JSON");
  if (!doc.is_object()) throw protocol_error("body", "expected a JSON object");
  infer_request out;
  for (const auto& [key, value] : doc.items()) {
    protocol_detail::reject_server_only(key, key);
    if (key == "id") {
      if (!value.is_string()) throw protocol_error("id", "expected a string");
      out.id = value.get<std::string>();
    } else if (key == "parameters") {
      out.service = protocol_detail::parse_parameters(value);
      out.parameters = value;
    } else if (key == "outputs") {
      protocol_detail::parse_requested_outputs(value, kind);
    } else if (key != "inputs") {
      throw protocol_error(key, "unknown field; accepted: id, parameters, inputs, outputs");
    }
  }
  if (!doc.contains("inputs")) throw protocol_error("inputs", "missing");
  const json& inputs = doc["inputs"];
  if (!inputs.is_array() || inputs.size() != 1) throw protocol_error("inputs", "expected an array with exactly one tensor, \"images\"");
  out.images = protocol_detail::parse_images(inputs[0], max_images);
  return out;
}

// The infer response: the task's name, the client's id, one output tensor; never the serving model.
inline std::string encode_infer_response(const std::string& task, const std::optional<std::string>& id,
                                         const tensor<float>& probabilities, output_kind kind) {
  const std::int64_t batch = probabilities.dim(0);
  std::string out = "{\"model_name\":" + json_quote(task);
  if (id) out += ",\"id\":" + json_quote(*id);
  out += ",\"outputs\":[{\"name\":\"";
  out += output_name(kind);
  char number[32];
  auto append = [&](auto value) {
    const std::to_chars_result written = std::to_chars(number, number + sizeof number, value);
    out.append(number, static_cast<std::size_t>(written.ptr > number ? written.ptr - number : 0));
  };
  if (kind == output_kind::probabilities) {
    out += "\",\"shape\":[" + std::to_string(batch) + "," + std::to_string(class_count) + "],\"datatype\":\"FP32\",\"data\":[";
    for (std::int64_t i = 0; i < probabilities.numel(); ++i) {
      if (i) out += ',';
      append(probabilities[i]);  // shortest text that reads back as the same float
    }
  } else {
    out += "\",\"shape\":[" + std::to_string(batch) + "],\"datatype\":\"INT32\",\"data\":[";
    for (std::int64_t b = 0; b < batch; ++b) {
      const float* row = probabilities.data() + b * class_count;
      std::int32_t best = 0;
      for (std::int32_t c = 1; c < class_count; ++c)
        if (row[c] > row[best]) best = c;
      if (b) out += ',';
      append(best);
    }
  }
  out += "]}]}";
  return out;
}

}  // namespace patchzoo::serve
