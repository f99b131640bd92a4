// The gRPC endpoint in-process on 127.0.0.1 (a free port) in front of the linear test zoo, driven by a client
// generated from the public proto (src/grpc/grpc_predict_v2.proto): health and metadata, answers equal to the
// selected model's own (raw bytes and typed contents, FP32 and UINT8), the shared router and metrics, and every
// bad input answered INVALID_ARGUMENT naming its field while the server stays correct.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "grpc_predict_v2.grpc.pb.h"
#include "patchzoo/serve/grpc_endpoint.hpp"
#include "serve/server_fixture.hpp"

using namespace patchzoo;
using namespace patchzoo::test;
namespace pb = inference;

namespace {

struct grpc_fixture {
  fixture http;
  serve::grpc_endpoint endpoint;
  std::unique_ptr<pb::GRPCInferenceService::Stub> stub;

  explicit grpc_fixture(serve::server_config config = small_config())
      : http(std::move(config)), endpoint(*http.server, "127.0.0.1", 0),
        stub(pb::GRPCInferenceService::NewStub(
            grpc::CreateChannel("127.0.0.1:" + std::to_string(endpoint.port()), grpc::InsecureChannelCredentials()))) {}

  grpc::Status infer(const pb::ModelInferRequest& request, pb::ModelInferResponse& response) const {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return stub->ModelInfer(&context, request, &response);
  }
};

// One FP32 image as raw_input_contents, the way Triton's clients send it.
pb::ModelInferRequest raw_request(const std::vector<float>& pixels, double min_accuracy = -1.0) {
  pb::ModelInferRequest r;
  r.set_model_name("fashion-mnist");
  auto* input = r.add_inputs();
  input->set_name("images");
  input->set_datatype("FP32");
  for (std::int64_t d : {1, 1, 28, 28}) input->add_shape(d);
  r.add_raw_input_contents(std::string(reinterpret_cast<const char*>(pixels.data()), pixels.size() * sizeof(float)));
  if (min_accuracy >= 0.0) (*r.mutable_parameters())["min_accuracy"].set_double_param(min_accuracy);
  return r;
}

std::vector<float> raw_floats(const std::string& bytes) {
  std::vector<float> out(bytes.size() / sizeof(float));
  std::memcpy(out.data(), bytes.data(), out.size() * sizeof(float));
  return out;
}

void check_equals_model(const pb::ModelInferResponse& response, std::size_t model, const std::vector<float>& pixels) {
  REQUIRE(response.outputs_size() == 1);
  CHECK(response.outputs(0).name() == "probabilities");
  CHECK(response.outputs(0).datatype() == "FP32");
  REQUIRE(response.outputs(0).shape_size() == 2);
  CHECK(response.outputs(0).shape(0) == 1);
  CHECK(response.outputs(0).shape(1) == 10);
  REQUIRE(response.raw_output_contents_size() == 1);
  const std::vector<float> got = raw_floats(response.raw_output_contents(0));
  const std::vector<float> want = linear_executor::probabilities(model, pixels.data());
  REQUIRE(got.size() == want.size());
  for (std::size_t c = 0; c < want.size(); ++c) CHECK(got[c] == want[c]);
}

std::string metrics_text(const grpc_fixture& f) { return f.http.server->metrics().prometheus_text(false); }

}  // namespace

TEST_CASE("grpc: health, readiness and metadata; unknown models are NOT_FOUND") {
  grpc_fixture f;
  {
    grpc::ClientContext c;
    pb::ServerLiveResponse live;
    REQUIRE(f.stub->ServerLive(&c, {}, &live).ok());
    CHECK(live.live());
  }
  {
    grpc::ClientContext c;
    pb::ServerReadyResponse ready;
    REQUIRE(f.stub->ServerReady(&c, {}, &ready).ok());
    CHECK(ready.ready());
  }
  {
    grpc::ClientContext c;
    pb::ModelReadyRequest q;
    q.set_name("fashion-mnist");
    pb::ModelReadyResponse ready;
    REQUIRE(f.stub->ModelReady(&c, q, &ready).ok());
    CHECK(ready.ready());
  }
  {
    grpc::ClientContext c;
    pb::ServerMetadataResponse m;
    REQUIRE(f.stub->ServerMetadata(&c, {}, &m).ok());
    CHECK(m.name() == "patchzoo");
    CHECK(!m.version().empty());
  }
  {
    grpc::ClientContext c;
    pb::ModelMetadataRequest q;
    q.set_name("fashion-mnist");
    pb::ModelMetadataResponse m;
    REQUIRE(f.stub->ModelMetadata(&c, q, &m).ok());
    CHECK(m.name() == "fashion-mnist");
    CHECK(m.platform() == "patchzoo-model-less");
    REQUIRE(m.inputs_size() == 1);
    CHECK(m.inputs(0).name() == "images");
    CHECK(m.inputs(0).datatype() == "FP32");
    CHECK(std::vector<std::int64_t>(m.inputs(0).shape().begin(), m.inputs(0).shape().end()) == std::vector<std::int64_t>{-1, 1, 28, 28});
    REQUIRE(m.outputs_size() == 1);
    CHECK(m.outputs(0).name() == "probabilities");
    // The metadata, like every answer, names no model of the zoo.
    for (const auto& p : test_zoo_profiles()) CHECK(m.DebugString().find(p.id) == std::string::npos);
  }
  for (const char* name : {"zk-best-9c3", "mnist"}) {
    grpc::ClientContext c;
    pb::ModelMetadataRequest q;
    q.set_name(name);
    pb::ModelMetadataResponse m;
    const grpc::Status s = f.stub->ModelMetadata(&c, q, &m);
    CHECK(s.error_code() == grpc::StatusCode::NOT_FOUND);
    CHECK(s.error_message().find("fashion-mnist") != std::string::npos);
  }
  pb::ModelInferRequest wrong = raw_request(image(1));
  wrong.set_model_name("zk-best-9c3");
  pb::ModelInferResponse response;
  CHECK(f.infer(wrong, response).error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("grpc: answers equal the selected model's own, for raw bytes and typed contents, FP32 and UINT8") {
  grpc_fixture f;
  const std::vector<float> x = image(42);
  // Only 'best' (index 2) is accurate enough, so the answer must be exactly its output.
  pb::ModelInferRequest request = raw_request(x, 0.9);
  request.set_id("g-17");
  pb::ModelInferResponse response;
  const grpc::Status s = f.infer(request, response);
  REQUIRE_MESSAGE(s.ok(), s.error_message());
  CHECK(response.model_name() == "fashion-mnist");
  CHECK(response.id() == "g-17");
  check_equals_model(response, 2, x);
  for (const auto& p : test_zoo_profiles()) CHECK(response.DebugString().find(p.id) == std::string::npos);

  // The same pixels as fp32_contents.
  pb::ModelInferRequest typed = raw_request(x, 0.9);
  typed.clear_raw_input_contents();
  for (float v : x) typed.mutable_inputs(0)->mutable_contents()->add_fp32_contents(v);
  pb::ModelInferResponse typed_response;
  REQUIRE(f.infer(typed, typed_response).ok());
  check_equals_model(typed_response, 2, x);

  // UINT8, raw and as uint_contents, scaled by 1/255 as over HTTP.
  std::vector<float> scaled(784);
  std::string bytes(784, '\0');
  for (int p = 0; p < 784; ++p) {
    bytes[p] = static_cast<char>((p * 7) % 256);
    scaled[p] = static_cast<float>((p * 7) % 256) / 255.0f;
  }
  pb::ModelInferRequest u8 = raw_request(x, 0.9);
  u8.mutable_inputs(0)->set_datatype("UINT8");
  u8.set_raw_input_contents(0, bytes);
  pb::ModelInferResponse u8_response;
  REQUIRE(f.infer(u8, u8_response).ok());
  check_equals_model(u8_response, 2, scaled);
  u8.clear_raw_input_contents();
  for (int p = 0; p < 784; ++p) u8.mutable_inputs(0)->mutable_contents()->add_uint_contents(static_cast<std::uint32_t>((p * 7) % 256));
  REQUIRE(f.infer(u8, u8_response).ok());
  check_equals_model(u8_response, 2, scaled);

  // A flat [B, 784] batch of three: each row its own answer.
  pb::ModelInferRequest batch = raw_request({}, 0.9);
  batch.mutable_inputs(0)->clear_shape();
  batch.mutable_inputs(0)->add_shape(3);
  batch.mutable_inputs(0)->add_shape(784);
  std::string rows;
  for (int k = 0; k < 3; ++k) {
    const std::vector<float> xk = image(100 + k);
    rows.append(reinterpret_cast<const char*>(xk.data()), 784 * sizeof(float));
  }
  batch.set_raw_input_contents(0, rows);
  pb::ModelInferResponse batch_response;
  REQUIRE(f.infer(batch, batch_response).ok());
  const std::vector<float> got = raw_floats(batch_response.raw_output_contents(0));
  REQUIRE(got.size() == 30);
  for (int k = 0; k < 3; ++k) {
    const std::vector<float> want = linear_executor::probabilities(2, image(100 + k).data());
    for (int c = 0; c < 10; ++c) CHECK(got[k * 10 + c] == want[c]);
  }
  CHECK(metrics_text(f).find("patchzoo_requests_total 5\n") != std::string::npos);
}

TEST_CASE("grpc: top-1 labels as INT32 when the server answers labels") {
  serve::server_config config = small_config();
  config.output = serve::output_kind::top1;
  grpc_fixture f(config);
  const std::vector<float> x = image(5);
  pb::ModelInferResponse response;
  REQUIRE(f.infer(raw_request(x, 0.9), response).ok());
  REQUIRE(response.outputs_size() == 1);
  CHECK(response.outputs(0).name() == "labels");
  CHECK(response.outputs(0).datatype() == "INT32");
  REQUIRE(response.raw_output_contents(0).size() == 4);
  std::int32_t label = -1;
  std::memcpy(&label, response.raw_output_contents(0).data(), 4);
  const std::vector<float> p = linear_executor::probabilities(2, x.data());
  CHECK(label == std::max_element(p.begin(), p.end()) - p.begin());
}

TEST_CASE("grpc: infeasible requests are FAILED_PRECONDITION and counted like HTTP's") {
  grpc_fixture f;
  pb::ModelInferResponse response;
  const grpc::Status s = f.infer(raw_request(image(1), 0.99), response);
  CHECK(s.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(s.error_message().find("infeasible") != std::string::npos);
  CHECK(metrics_text(f).find("patchzoo_rejected_total{reason=\"infeasible\"} 1\n") != std::string::npos);
}

TEST_CASE("grpc: every bad input is INVALID_ARGUMENT naming its field, and the server stays correct") {
  grpc_fixture f;
  const std::vector<float> x = image(7);
  using edit = std::function<void(pb::ModelInferRequest&)>;
  struct bad_case {
    const char* field;
    edit change;
  };
  auto fp32_contents = [](pb::ModelInferRequest& r, std::vector<float> values) {
    r.clear_raw_input_contents();
    for (float v : values) r.mutable_inputs(0)->mutable_contents()->add_fp32_contents(v);
  };
  std::vector<float> out_of_range = x;
  out_of_range[17] = 1.5f;
  std::vector<float> not_a_number = x;
  not_a_number[3] = std::nanf("");
  const std::vector<bad_case> cases = {
      {"inputs[0].name", [](auto& r) { r.mutable_inputs(0)->set_name("pixels"); }},
      {"inputs[0].datatype", [](auto& r) { r.mutable_inputs(0)->set_datatype("INT64"); }},
      {"inputs[0].shape", [](auto& r) { r.mutable_inputs(0)->set_shape(3, 27); }},
      {"inputs[0].shape", [](auto& r) { r.mutable_inputs(0)->set_shape(0, 0); }},
      {"inputs[0].shape", [](auto& r) { r.mutable_inputs(0)->set_shape(0, 5000); }},
      {"inputs", [](auto& r) { r.add_inputs()->set_name("images"); }},
      {"inputs[0].parameters.binary_data_size", [](auto& r) { (*r.mutable_inputs(0)->mutable_parameters())["binary_data_size"].set_int64_param(3136); }},
      {"raw_input_contents[0]", [](auto& r) { r.mutable_raw_input_contents(0)->resize(3000); }},
      {"raw_input_contents[0][17]", [&](auto& r) { r.set_raw_input_contents(0, std::string(reinterpret_cast<const char*>(out_of_range.data()), 3136)); }},
      {"raw_input_contents", [](auto& r) { r.add_raw_input_contents(std::string(16, '\0')); }},
      {"inputs[0].contents.fp32_contents", [](auto& r) { r.mutable_inputs(0)->mutable_contents()->add_fp32_contents(0.5f); }},
      {"inputs[0].contents.fp32_contents", [&](auto& r) { fp32_contents(r, std::vector<float>(783, 0.5f)); }},
      {"inputs[0].contents.fp32_contents[3]", [&](auto& r) { fp32_contents(r, not_a_number); }},
      {"inputs[0].contents.int64_contents", [](auto& r) { r.clear_raw_input_contents(); r.mutable_inputs(0)->mutable_contents()->add_int64_contents(1); }},
      {"inputs[0].contents", [](auto& r) { r.clear_raw_input_contents(); }},
      {"inputs[0].contents.uint_contents[0]", [](auto& r) {
         r.clear_raw_input_contents();
         r.mutable_inputs(0)->set_datatype("UINT8");
         for (int p = 0; p < 784; ++p) r.mutable_inputs(0)->mutable_contents()->add_uint_contents(p == 0 ? 300 : 1);
       }},
      {"parameters.model", [](auto& r) { (*r.mutable_parameters())["model"].set_string_param("zk-best-9c3"); }},
      {"parameters.epsilon", [](auto& r) { (*r.mutable_parameters())["epsilon"].set_double_param(1e9); }},
      {"parameters.colour", [](auto& r) { (*r.mutable_parameters())["colour"].set_string_param("blue"); }},
      {"parameters.min_accuracy", [](auto& r) { (*r.mutable_parameters())["min_accuracy"].set_double_param(1.5); }},
      {"parameters.min_accuracy", [](auto& r) { (*r.mutable_parameters())["min_accuracy"].set_string_param("0.9"); }},
      {"parameters.max_latency_ms", [](auto& r) { (*r.mutable_parameters())["max_latency_ms"].set_double_param(-1.0); }},
      {"model_version", [](auto& r) { r.set_model_version("2"); }},
      {"outputs[0].name", [](auto& r) { r.add_outputs()->set_name("logits"); }},
      {"outputs[0].parameters.binary_data", [](auto& r) {
         auto* o = r.add_outputs();
         o->set_name("probabilities");
         (*o->mutable_parameters())["binary_data"].set_bool_param(true);
       }},
  };
  for (const bad_case& c : cases) {
    pb::ModelInferRequest request = raw_request(x);
    c.change(request);
    pb::ModelInferResponse response;
    const grpc::Status s = f.infer(request, response);
    CHECK_MESSAGE(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT, c.field, ": ", s.error_message());
    CHECK_MESSAGE(s.error_message().rfind(std::string(c.field) + ": ", 0) == 0, "expected the field ", std::string(c.field), ", got: ", s.error_message());
  }
  CHECK(metrics_text(f).find("patchzoo_rejected_total{reason=\"bad_request\"} " + std::to_string(cases.size()) + "\n") != std::string::npos);

  // A message larger than the largest valid request is refused by gRPC before it is read.
  pb::ModelInferRequest huge = raw_request(x);
  huge.set_raw_input_contents(0, std::string(8 << 20, '\0'));
  pb::ModelInferResponse response;
  CHECK(f.infer(huge, response).error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);

  // Still correct afterwards.
  REQUIRE(f.infer(raw_request(x, 0.9), response).ok());
  check_equals_model(response, 2, x);
}
