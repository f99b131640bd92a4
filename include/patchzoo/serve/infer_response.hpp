#pragma once
// The infer response of the Open Inference Protocol: the task's name, the client's id and one output tensor,
// never the serving model. Written straight into a string (no DOM): as JSON numbers, or, when the request
// asked for binary_data, as Triton's binary extension: a JSON header whose output carries
// "parameters":{"binary_data_size":N}, then the N raw little-endian bytes.
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include "patchzoo/core/number_text.hpp"
#include "patchzoo/core/tensor.hpp"
#include "patchzoo/io/json_limits.hpp"
#include "patchzoo/serve/inference_protocol.hpp"

namespace patchzoo::serve {

struct encoded_response {
  std::string body;
  std::optional<std::size_t> json_length;  // set for a binary response: its Inference-Header-Content-Length
};

namespace response_detail {

inline std::int32_t top1(const float* row) {
  std::int32_t best = 0;
  for (std::int32_t c = 1; c < class_count; ++c)
    if (row[c] > row[best]) best = c;
  return best;
}

}  // namespace response_detail

inline encoded_response encode_infer_response(const std::string& task, const std::optional<std::string>& id,
                                              const tensor<float>& probabilities, output_kind kind, bool binary = false) {
  const std::int64_t batch = probabilities.dim(0);
  const bool probs = kind == output_kind::probabilities;
  const std::int64_t values = probs ? probabilities.numel() : batch;
  encoded_response r;
  std::string& out = r.body;
  out.reserve(static_cast<std::size_t>(128 + values * (binary ? 4 : 16)));
  out += "{\"model_name\":" + json_quote(task);
  if (id) out += ",\"id\":" + json_quote(*id);
  out += ",\"outputs\":[{\"name\":\"";
  out += output_name(kind);
  out += "\",\"shape\":[";
  append_shortest_text(out, batch);
  if (probs) {
    out += ',';
    append_shortest_text(out, class_count);
  }
  out += probs ? "],\"datatype\":\"FP32\"" : "],\"datatype\":\"INT32\"";
  if (binary) {
    out += ",\"parameters\":{\"binary_data_size\":";
    append_shortest_text(out, values * 4);
    out += "}}]}";
    r.json_length = out.size();
    const std::size_t at = out.size();
    out.resize(at + static_cast<std::size_t>(values * 4));
    if (probs) {
      std::memcpy(out.data() + at, probabilities.data(), static_cast<std::size_t>(values * 4));
    } else {
      for (std::int64_t b = 0; b < batch; ++b) {
        const std::int32_t label = response_detail::top1(probabilities.data() + b * class_count);
        std::memcpy(out.data() + at + static_cast<std::size_t>(b * 4), &label, 4);
      }
    }
    return r;
  }
  out += ",\"data\":[";
  for (std::int64_t i = 0; i < values; ++i) {
    if (i) out += ',';
    if (probs) append_shortest_text(out, probabilities[i]);
    else append_shortest_text(out, response_detail::top1(probabilities.data() + i * class_count));
  }
  out += "]}]}";
  return r;
}

}  // namespace patchzoo::serve
