// Fuzzes serve::parse_infer_request (serve/inference_protocol.hpp), the parser of every POST
// /v2/models/{task}/infer body: the input is the body. The last byte, when present, also picks the
// output kind, the server's batch limit and the binary tensor extension: then the input is
// "<Inference-Header-Content-Length value>\n<JSON header><tensor bytes>", so split_infer_body is covered too. A protocol_error (the server
// answers 400) is as expected as a patchzoo::error.
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "patchzoo/serve/inference_protocol.hpp"

#define PATCHZOO_FUZZ_EXTRA_EXPECTED \
  catch (const patchzoo::serve::protocol_error&) {}
#include "fuzz/fuzz_support.hpp"

using namespace patchzoo::serve;

void fuzz_one(std::span<const std::uint8_t> input) {
  const std::string_view body(reinterpret_cast<const char*>(input.data()), input.size());
  const std::uint8_t knob = input.empty() ? 0 : input.back();
  const output_kind kind = (knob & 1) ? output_kind::top1 : output_kind::probabilities;
  const std::int64_t max_images = (knob & 2) ? 1 : 64;
  infer_body_parts parts{body, {}};
  if (knob & 0x80) {
    const std::size_t newline = body.find('\n');
    if (newline == std::string_view::npos) return;
    parts = split_infer_body(body.substr(newline + 1), body.substr(0, newline));
  }
  const infer_request r = parse_infer_request(parts, kind, max_images);
  (void)nlohmann::json::parse(r.parameters_json);  // the request log reads the kept parameters back
}

namespace {

std::string images_body(int batch, bool flat, const char* datatype, const std::string& extra) {
  std::string data;
  for (int i = 0; i < batch * 784; ++i) data += (i ? "," : "") + std::string(datatype[0] == 'U' ? "17" : "0.5");
  const std::string shape = flat ? "[" + std::to_string(batch) + ",784]" : "[" + std::to_string(batch) + ",1,28,28]";
  return "{" + extra + "\"inputs\":[{\"name\":\"images\",\"shape\":" + shape + ",\"datatype\":\"" + datatype +
         "\",\"data\":[" + data + "]}]}";
}

}  // namespace

// Every body ends in '}' (0x7d): the knob byte picks top1 ("labels") and a batch limit of 64.
void write_seeds(const seed_writer& out) {
  out.text("fp32_image", images_body(1, false, "FP32", ""));
  out.text("uint8_flat", images_body(1, true, "UINT8", "\"id\":\"r1\","));
  out.text("parameters", images_body(1, true, "FP32", "\"parameters\":{\"min_accuracy\":0.9,\"max_latency_ms\":2.5},"));
  out.text("outputs", images_body(2, true, "UINT8", "\"outputs\":[{\"name\":\"labels\"}],"));
  out.text("bad_server_only", images_body(1, true, "FP32", "\"parameters\":{\"model\":\"x\"},"));
  out.text("bad_not_json", "{\"inputs\":[");
  out.text("bad_empty_object", "{}");
  // Binary extension: a last byte of 0xfd (bit 7 set) is also the last of one UINT8 image of 784 bytes.
  const std::string header = "{\"inputs\":[{\"name\":\"images\",\"shape\":[1,784],\"datatype\":\"UINT8\","
                             "\"parameters\":{\"binary_data_size\":784}}]}";
  out.text("binary_uint8", std::to_string(header.size()) + "\n" + header + std::string(783, '\x11') + "\xfd");
}
