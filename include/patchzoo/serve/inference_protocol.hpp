#pragma once
// The Open Inference Protocol (KServe v2) requests this server accepts: a model-less infer request (the
// client states accuracy/latency needs in "parameters", never a model), as JSON or with Triton's binary
// tensor data extension (a JSON header of Inference-Header-Content-Length bytes, then the raw tensor).
// Every rejection names the offending field, e.g. "inputs[0].data[17]: ...". Client values appear in
// messages only through describe() (scalars cut short, containers by size): never dumped recursively.
// Bodies are parsed with simdjson (one parser per thread, reused): a 784-float request costs microseconds.
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "patchzoo/core/error.hpp"
#include "patchzoo/core/number_text.hpp"
#include "patchzoo/core/tensor.hpp"
#include "patchzoo/io/json_limits.hpp"
#include "patchzoo/psml/service_request.hpp"

namespace patchzoo::serve {

inline constexpr std::int64_t image_side = 28;
inline constexpr std::int64_t image_pixels = image_side * image_side;
inline constexpr std::int64_t class_count = 10;

// The HTTP header of the binary tensor data extension: the length of the JSON part of the body.
inline constexpr const char* binary_header_length_field = "Inference-Header-Content-Length";

enum class output_kind { probabilities, top1 };

inline output_kind parse_output_kind(std::string_view text) {
  if (text == "probabilities") return output_kind::probabilities;
  if (text == "top1") return output_kind::top1;
  throw error("output_kind: expected 'probabilities' or 'top1', got " + json_quote(text));
}

// The name of the one output tensor the server returns.
inline const char* output_name(output_kind kind) { return kind == output_kind::probabilities ? "probabilities" : "labels"; }

// The "platform" of the model metadata: one model-less endpoint, whichever zoo model answers.
inline constexpr const char* model_platform = "patchzoo-model-less";

// A tensor as the model metadata describes it (-1: any size); every transport's metadata is built from these.
struct tensor_spec {
  const char* name;
  const char* datatype;
  std::vector<std::int64_t> shape;
};

inline tensor_spec input_spec() { return {"images", "FP32", {-1, 1, image_side, image_side}}; }

inline tensor_spec output_spec(output_kind kind) {
  if (kind == output_kind::probabilities) return {output_name(kind), "FP32", {-1, class_count}};
  return {output_name(kind), "INT32", {-1}};
}

// A malformed request (HTTP 400); field() is the JSON path (or header) of what is wrong.
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
  std::string parameters_json = "{}";  // "parameters" as sent (minified), for the server-side log
  bool binary_output = false;          // outputs[0].parameters.binary_data: answer with raw tensor bytes
  tensor<float> images;                // [B, 1, 28, 28] in [0, 1]
};

// A body split into its JSON part and the binary tensor bytes that follow it (empty without the extension).
struct infer_body_parts {
  std::string_view json;
  std::string_view binary;
};

// Splits a body by the value of Inference-Header-Content-Length; `header_length` empty: all JSON.
inline infer_body_parts split_infer_body(std::string_view body, std::string_view header_length) {
  if (header_length.empty()) return {body, {}};
  std::uint64_t length = 0;
  const auto [end, ec] = std::from_chars(header_length.data(), header_length.data() + header_length.size(), length);
  if (ec != std::errc() || end != header_length.data() + header_length.size())
    throw protocol_error(binary_header_length_field, "expected a byte count, got " + json_quote(header_length.substr(0, 40)));
  if (length > body.size())
    throw protocol_error(binary_header_length_field, "the JSON header of " + std::to_string(length) +
                                                         " bytes is longer than the body of " + std::to_string(body.size()) + " bytes");
  return {body.substr(0, length), body.substr(length)};
}

namespace protocol_detail {

using simdjson::dom::element;
using simdjson::dom::element_type;

// Names a client might use to choose the model, the defense or its parameters: the server alone decides
// those (the later public PSML code's router took epsilon from the client, which lets an attacker switch the
// defense off).
inline bool server_only(std::string_view key) {
  static const std::set<std::string, std::less<>> names = {
      "model",        "model_id",       "model_name",       "model_version", "version",     "pin",
      "policy",       "seed",           "defense",          "mechanism",     "epsilon",     "eps",
      "sensitivity",  "delta",          "score",            "utility",       "noise",       "noise_scale",
      "accuracy_noise", "latency_noise", "latency_noise_ms", "never_looser",  "granularity", "privacy"};
  return names.find(key) != names.end();
}

inline void reject_server_only(const std::string& path, std::string_view key) {
  if (server_only(key))
    throw protocol_error(path, "server-only field: the server alone chooses the model and how it selects one");
}

// Checked views of an element whose type the caller has just tested.
inline simdjson::dom::array as_array(element v) {
  simdjson::dom::array a;
  if (v.get(a) != simdjson::SUCCESS) throw protocol_error("body", "internal: expected an array");
  return a;
}
inline simdjson::dom::object as_object(element v) {
  simdjson::dom::object o;
  if (v.get(o) != simdjson::SUCCESS) throw protocol_error("body", "internal: expected an object");
  return o;
}

// A client's value for a message: scalars as JSON cut to 80 characters, arrays and objects by their size.
inline std::string describe(element value) {
  if (value.is_array()) return "an array of " + std::to_string(as_array(value).size()) + " elements";
  if (value.is_object()) return "an object with " + std::to_string(as_object(value).size()) + " fields";
  std::string text = simdjson::minify(value);
  constexpr std::size_t max_chars = 80;
  if (text.size() > max_chars) {
    std::size_t cut = max_chars;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // not inside a UTF-8 sequence
    text = text.substr(0, cut) + "...";
  }
  return text;
}

inline bool is_integer(element v) { return v.is_int64() || v.is_uint64(); }
inline bool is_string(element v, std::string_view text) { return v.is_string() && v.get_string().value_unsafe() == text; }

inline double number_in(element value, const std::string& path) {
  if (!value.is_number()) throw protocol_error(path, "expected a number, got " + describe(value));
  return value.get_double().value_unsafe();
}

inline constexpr const char* accepted_parameters = "accepted: min_accuracy, max_latency_ms";

// Sets min_accuracy or max_latency_ms (`key`) after checking its range; `shown` is the client's text of it.
inline void set_service_parameter(psml::service_request& out, std::string_view key, double value, const std::string& path,
                                  const std::string& shown) {
  if (key == "min_accuracy") {
    if (!(value >= 0.0 && value <= 1.0)) throw protocol_error(path, "expected a fraction in [0, 1] (e.g. 0.88), got " + shown);
    out.min_accuracy = value;
  } else {
    if (!(std::isfinite(value) && value > 0.0)) throw protocol_error(path, "expected a latency in ms > 0, got " + shown);
    out.max_latency_ms = value;
  }
}

inline psml::service_request parse_parameters(element parameters) {
  if (!parameters.is_object()) throw protocol_error("parameters", "expected an object");
  psml::service_request out;
  for (const auto field : as_object(parameters)) {
    const std::string path = "parameters." + std::string(field.key);
    reject_server_only(path, field.key);
    if (field.key == "min_accuracy" || field.key == "max_latency_ms")
      set_service_parameter(out, field.key, number_in(field.value, path), path, describe(field.value));
    else
      throw protocol_error(path, "unknown parameter; " + std::string(accepted_parameters));
  }
  return out;
}

// A shape of integers as "[2, 784]"; anything else by describe().
inline std::string describe_shape(element shape) {
  if (!shape.is_array() || as_array(shape).size() > 8) return describe(shape);
  std::string text = "[";
  for (const element d : as_array(shape)) text += (text.size() > 1 ? ", " : "") + describe(d);
  return text + "]";
}

// [B, 1, 28, 28] or [B, 784], whatever B; dims holds the first min(rank, 4) dimensions.
inline bool is_image_shape(const std::int64_t* dims, std::size_t rank) {
  return (rank == 4 && dims[1] == 1 && dims[2] == image_side && dims[3] == image_side) || (rank == 2 && dims[1] == image_pixels);
}

// B of an image shape, once it is known to be in [1, max_images]; `shown` is the client's text of it.
inline std::int64_t checked_batch(std::int64_t batch, std::int64_t max_images, const std::string& path, const std::string& shown) {
  if (batch < 1 || batch > max_images)
    throw protocol_error(path, "batch size must be in [1, " + std::to_string(max_images) + "], got " + shown);
  return batch;
}

inline std::int64_t parse_batch(element shape, std::int64_t max_images) {
  const std::string path = "inputs[0].shape";
  if (!shape.is_array()) throw protocol_error(path, "expected an array of integers");
  std::int64_t dims[4] = {0, 0, 0, 0};
  std::size_t rank = 0;
  bool first_fits = true;  // dims[0] is exact (not a huge or negative number clipped)
  for (const element d : as_array(shape)) {
    if (!is_integer(d)) throw protocol_error(path, "expected an array of integers, got " + describe(d));
    if (rank < 4) {
      if (d.is_int64()) dims[rank] = d.get_int64().value_unsafe();
      else if (rank == 0) first_fits = false;
      else dims[rank] = -1;
    }
    ++rank;
  }
  if (!is_image_shape(dims, rank)) throw protocol_error(path, "expected [B, 1, 28, 28] or [B, 784], got " + describe_shape(shape));
  if (!first_fits) dims[0] = -1;
  return checked_batch(dims[0], max_images, path, describe(*as_array(shape).begin()));
}

inline std::string value_path(std::int64_t i) { return "inputs[0].data[" + std::to_string(i) + "]"; }

// FP32 values must lie in [0, 1]; UINT8 ones are any byte, scaled by 1/255.
inline void check_fp32_value(double x, std::int64_t i, element original) {
  if (!(x >= 0.0 && x <= 1.0)) throw protocol_error(value_path(i), "FP32 values must be in [0, 1], got " + describe(original));
}

inline void decode_json_data(element data, bool bytes, std::int64_t expected, float* out) {
  if (!data.is_array()) throw protocol_error("inputs[0].data", "expected a flat array of numbers in row-major order");
  const simdjson::dom::array values = as_array(data);
  const std::size_t count = values.size();
  if (static_cast<std::int64_t>(count) != expected)
    throw protocol_error("inputs[0].data", "shape needs " + std::to_string(expected) + " values, got " + std::to_string(count));
  std::int64_t i = 0;
  for (const element v : values) {  // one typed read per value: the type check is its error code
    if (bytes) {
      std::int64_t b = -1;
      if (v.get_int64().get(b) != simdjson::SUCCESS || b < 0 || b > 255)
        throw protocol_error(value_path(i), "UINT8 values must be integers in 0..255, got " + describe(v));
      out[i] = static_cast<float>(b) / 255.0f;
    } else {
      double x = 0;
      if (v.get_double().get(x) != simdjson::SUCCESS) throw protocol_error(value_path(i), "expected a number, got " + describe(v));
      check_fp32_value(x, i, v);
      out[i] = static_cast<float>(x);
    }
    ++i;
  }
}

}  // namespace protocol_detail

// FP32 pixels must lie in [0, 1] (NaN does not).
inline void check_fp32_images(const float* values, std::int64_t count, const char* field) {
  for (std::int64_t i = 0; i < count; ++i)
    if (!(values[i] >= 0.0f && values[i] <= 1.0f))
      throw protocol_error(std::string(field) + "[" + std::to_string(i) + "]", "FP32 values must be in [0, 1], got " + shortest_text(values[i]));
}

// Where raw tensor bytes came from, for the messages: the size's field, the values' field, and what holds them.
struct raw_tensor_source {
  const char* size_field;
  const char* values_field;
  const char* holder;
};

// Raw little-endian values (Triton's binary extension, gRPC's raw_input_contents; little-endian hosts only).
inline void decode_raw_images(std::string_view raw, bool bytes, std::int64_t expected, float* out, const raw_tensor_source& source) {
  const std::int64_t size = expected * (bytes ? 1 : 4);
  if (static_cast<std::int64_t>(raw.size()) != size)
    throw protocol_error(source.size_field, "shape and datatype need " + std::to_string(size) + " bytes, " + source.holder + " " +
                                                std::to_string(raw.size()));
  if (bytes) {
    for (std::int64_t i = 0; i < expected; ++i) out[i] = static_cast<float>(static_cast<unsigned char>(raw[static_cast<std::size_t>(i)])) / 255.0f;
    return;
  }
  std::memcpy(out, raw.data(), raw.size());
  check_fp32_images(out, expected, source.values_field);
}

namespace protocol_detail {

// binary_data_size of an input's "parameters" (the only parameter an input takes).
inline std::optional<std::uint64_t> parse_input_parameters(element parameters) {
  const std::string path = "inputs[0].parameters";
  if (!parameters.is_object()) throw protocol_error(path, "expected an object");
  std::optional<std::uint64_t> size;
  for (const auto field : as_object(parameters)) {
    if (field.key != "binary_data_size") throw protocol_error(path + "." + std::string(field.key), "unknown parameter; accepted: binary_data_size");
    if (!field.value.is_uint64() && !(field.value.is_int64() && field.value.get_int64().value_unsafe() >= 0))
      throw protocol_error(path + ".binary_data_size", "expected a byte count, got " + describe(field.value));
    size = field.value.get_uint64().value_unsafe();
  }
  return size;
}

// The fields of inputs[0], each at most once.
struct input_fields {
  std::optional<element> name, shape, datatype, data, parameters;
};

inline tensor<float> parse_images(element input, std::string_view binary, std::int64_t max_images) {
  if (!input.is_object()) throw protocol_error("inputs[0]", "expected an object");
  input_fields f;
  for (const auto field : as_object(input)) {
    std::optional<element>* slot = field.key == "name"       ? &f.name
                                   : field.key == "shape"    ? &f.shape
                                   : field.key == "datatype" ? &f.datatype
                                   : field.key == "data"     ? &f.data
                                   : field.key == "parameters" ? &f.parameters
                                                               : nullptr;
    const std::string path = "inputs[0]." + std::string(field.key);
    if (!slot) throw protocol_error(path, "unknown field; accepted: name, shape, datatype, data, parameters");
    if (*slot) throw protocol_error(path, "given twice");
    *slot = field.value;
  }
  const std::optional<std::uint64_t> binary_size = f.parameters ? parse_input_parameters(*f.parameters) : std::nullopt;
  for (const auto& [key, value] : {std::pair{"name", &f.name}, {"shape", &f.shape}, {"datatype", &f.datatype}})
    if (!*value) throw protocol_error(std::string("inputs[0].") + key, "missing");
  if (!binary_size && !f.data) throw protocol_error("inputs[0].data", "missing (or send the tensor as binary data: parameters.binary_data_size)");
  if (binary_size && f.data) throw protocol_error("inputs[0].data", "given together with parameters.binary_data_size; send one or the other");
  if (!binary_size && !binary.empty())
    throw protocol_error(binary_header_length_field, std::to_string(binary.size()) + " bytes follow the JSON header but no input has parameters.binary_data_size");
  if (!is_string(*f.name, "images")) throw protocol_error("inputs[0].name", "expected \"images\", got " + describe(*f.name));
  const std::int64_t batch = parse_batch(*f.shape, max_images);
  const bool bytes = is_string(*f.datatype, "UINT8");
  if (!bytes && !is_string(*f.datatype, "FP32"))
    throw protocol_error("inputs[0].datatype", "expected \"FP32\" (values in [0, 1]) or \"UINT8\" (0..255), got " + describe(*f.datatype));

  tensor<float> images({batch, 1, image_side, image_side});
  if (binary_size) {
    const std::uint64_t declared = binary_size.value_or(0);
    if (declared != binary.size())
      throw protocol_error("inputs[0].parameters.binary_data_size", "is " + std::to_string(declared) + " but " +
                                                                        std::to_string(binary.size()) + " bytes follow the JSON header");
    decode_raw_images(binary, bytes, batch * image_pixels, images.data(),
                      {"inputs[0].parameters.binary_data_size", "inputs[0].binary_data", "the body holds"});
  } else {
    decode_json_data(*f.data, bytes, batch * image_pixels, images.data());
  }
  return images;
}

// The requested outputs: only the one tensor this server returns; returns whether it is wanted binary.
inline bool parse_requested_outputs(element outputs, output_kind kind) {
  if (!outputs.is_array()) throw protocol_error("outputs", "expected an array");
  bool binary = false;
  std::size_t k = 0;
  for (const element output : as_array(outputs)) {
    const std::string path = "outputs[" + std::to_string(k++) + "]";
    if (!output.is_object()) throw protocol_error(path, "expected an object with a name");
    bool named = false;
    for (const auto field : as_object(output)) {
      if (field.key == "name") {
        if (!is_string(field.value, output_name(kind)))
          throw protocol_error(path + ".name", std::string("this server returns \"") + output_name(kind) + "\", not " + describe(field.value));
        named = true;
      } else if (field.key == "parameters") {
        if (!field.value.is_object()) throw protocol_error(path + ".parameters", "expected an object");
        for (const auto p : as_object(field.value)) {
          if (p.key != "binary_data") throw protocol_error(path + ".parameters." + std::string(p.key), "unknown parameter; accepted: binary_data");
          if (!p.value.is_bool()) throw protocol_error(path + ".parameters.binary_data", "expected true or false, got " + describe(p.value));
          binary = p.value.get_bool().value_unsafe();
        }
      } else {
        throw protocol_error(path + "." + std::string(field.key), "unknown field; accepted: name, parameters");
      }
    }
    if (!named) throw protocol_error(path, "expected an object with a name");
  }
  return binary;
}

// This thread's parser and a padded copy of the body, both kept between requests (no allocation once warm).
struct thread_parser {
  // Three levels suffice (body, inputs, tensor); a few more leave room for clients' harmless extras to be named.
  static constexpr std::size_t max_depth = 8;
  simdjson::dom::parser parser;
  std::string padded;

  static thread_parser& get() {
    thread_local thread_parser p;
    return p;
  }

  element parse(std::string_view json) {
    if (parser.max_depth() != max_depth && parser.allocate(std::max<std::size_t>(json.size(), 4096), max_depth) != simdjson::SUCCESS)
      throw protocol_error("body", "out of memory");
    padded.assign(json);
    padded.append(simdjson::SIMDJSON_PADDING, ' ');
    element doc;
    const simdjson::error_code ec = parser.parse(padded.data(), json.size(), false).get(doc);
    if (ec == simdjson::DEPTH_ERROR) throw protocol_error("body", "JSON nested deeper than " + std::to_string(max_depth) + " levels");
    if (ec) throw protocol_error("body", std::string("not valid JSON: ") + simdjson::error_message(ec));
    return doc;
  }
};

}  // namespace protocol_detail

// Parses and validates a POST /v2/models/{task}/infer body (split by split_infer_body). Throws
// protocol_error on any problem.
inline infer_request parse_infer_request(infer_body_parts body, output_kind kind, std::int64_t max_images) {
  using protocol_detail::element;
  const element doc = protocol_detail::thread_parser::get().parse(body.json);
  if (!doc.is_object()) throw protocol_error("body", "expected a JSON object");
  infer_request out;
  std::optional<element> inputs;
  for (const auto field : protocol_detail::as_object(doc)) {
    const std::string key(field.key);
    protocol_detail::reject_server_only(key, key);
    if (key == "id") {
      if (!field.value.is_string()) throw protocol_error("id", "expected a string");
      out.id = std::string(field.value.get_string().value_unsafe());
    } else if (key == "parameters") {
      out.service = protocol_detail::parse_parameters(field.value);
      out.parameters_json = simdjson::minify(field.value);
    } else if (key == "outputs") {
      out.binary_output = protocol_detail::parse_requested_outputs(field.value, kind);
    } else if (key == "inputs") {
      if (inputs) throw protocol_error("inputs", "given twice");
      inputs = field.value;
    } else {
      throw protocol_error(key, "unknown field; accepted: id, parameters, inputs, outputs");
    }
  }
  if (!inputs) throw protocol_error("inputs", "missing");
  if (!inputs->is_array() || protocol_detail::as_array(*inputs).size() != 1)
    throw protocol_error("inputs", "expected an array with exactly one tensor, \"images\"");
  out.images = protocol_detail::parse_images(*protocol_detail::as_array(*inputs).begin(), body.binary, max_images);
  return out;
}

// A body without the binary extension.
inline infer_request parse_infer_request(std::string_view json, output_kind kind, std::int64_t max_images) {
  return parse_infer_request(infer_body_parts{json, {}}, kind, max_images);
}

}  // namespace patchzoo::serve
