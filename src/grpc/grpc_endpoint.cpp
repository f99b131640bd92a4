// The Open Inference Protocol's gRPC service over an inference_server: parses ModelInferRequest with the
// same checks (and the same field-naming messages) as the HTTP path, hands the parsed request to
// inference_server::infer, and answers with raw_output_contents, as Triton does.
#include "patchzoo/serve/grpc_endpoint.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include <grpcpp/grpcpp.h>

#include "grpc_predict_v2.grpc.pb.h"
#include "patchzoo/core/error.hpp"
#include "patchzoo/io/json_limits.hpp"
#include "patchzoo/serve/infer_response.hpp"
#include "patchzoo/serve/inference_protocol.hpp"
#include "patchzoo/serve/inference_server.hpp"

namespace patchzoo::serve {
namespace {

namespace pb = inference;
using grpc::ServerContext;
using grpc::Status;
using grpc::StatusCode;

// A parameter's value as the client sent it, for messages.
std::string shown(const pb::InferParameter& p) {
  switch (p.parameter_choice_case()) {
    case pb::InferParameter::kBoolParam: return p.bool_param() ? "true" : "false";
    case pb::InferParameter::kInt64Param: return std::to_string(p.int64_param());
    case pb::InferParameter::kUint64Param: return std::to_string(p.uint64_param());
    case pb::InferParameter::kDoubleParam: return shortest_text(p.double_param());
    case pb::InferParameter::kStringParam: return json_quote(std::string_view(p.string_param()).substr(0, 80));
    case pb::InferParameter::PARAMETER_CHOICE_NOT_SET: break;
  }
  return "no value";
}

double number_of(const pb::InferParameter& p, const std::string& path) {
  switch (p.parameter_choice_case()) {
    case pb::InferParameter::kDoubleParam: return p.double_param();
    case pb::InferParameter::kInt64Param: return static_cast<double>(p.int64_param());
    case pb::InferParameter::kUint64Param: return static_cast<double>(p.uint64_param());
    default: throw protocol_error(path, "expected a number (double_param, int64_param or uint64_param), got " + shown(p));
  }
}

void append_parameter(std::string& json, std::string_view key, double value) {
  json += json.size() > 1 ? ",\"" : "\"";
  json.append(key);
  json += "\":" + shortest_text(value);
}

psml::service_request parse_parameters(const google::protobuf::Map<std::string, pb::InferParameter>& parameters,
                                       std::string& parameters_json) {
  psml::service_request out;
  parameters_json = "{";
  for (const auto& [key, value] : parameters) {
    const std::string path = "parameters." + key;
    protocol_detail::reject_server_only(path, key);
    if (key != "min_accuracy" && key != "max_latency_ms")
      throw protocol_error(path, std::string("unknown parameter; ") + protocol_detail::accepted_parameters);
    const double number = number_of(value, path);
    protocol_detail::set_service_parameter(out, key, number, path, shown(value));
    append_parameter(parameters_json, key, number);
  }
  parameters_json += "}";
  return out;
}

std::string shape_text(const google::protobuf::RepeatedField<std::int64_t>& shape) {
  std::string text = "[";
  for (int i = 0; i < std::min(shape.size(), 8); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + (shape.size() > 8 ? ", ...]" : "]");
}

// Which typed field of InferTensorContents holds values, if any; the images take fp32 or uint contents only.
const char* filled_contents(const pb::InferTensorContents& c) {
  if (c.bool_contents_size()) return "bool_contents";
  if (c.int_contents_size()) return "int_contents";
  if (c.int64_contents_size()) return "int64_contents";
  if (c.uint_contents_size()) return "uint_contents";
  if (c.uint64_contents_size()) return "uint64_contents";
  if (c.fp32_contents_size()) return "fp32_contents";
  if (c.fp64_contents_size()) return "fp64_contents";
  if (c.bytes_contents_size()) return "bytes_contents";
  return nullptr;
}

tensor<float> parse_images(const pb::ModelInferRequest& r, std::int64_t max_images) {
  if (r.inputs_size() != 1) throw protocol_error("inputs", "expected exactly one tensor, \"images\", got " + std::to_string(r.inputs_size()));
  const pb::ModelInferRequest::InferInputTensor& input = r.inputs(0);
  if (input.name() != "images") throw protocol_error("inputs[0].name", "expected \"images\", got " + json_quote(input.name()));
  const bool bytes = input.datatype() == "UINT8";
  if (!bytes && input.datatype() != "FP32")
    throw protocol_error("inputs[0].datatype", "expected \"FP32\" (values in [0, 1]) or \"UINT8\" (0..255), got " + json_quote(input.datatype()));
  if (!input.parameters().empty())
    throw protocol_error("inputs[0].parameters." + input.parameters().begin()->first, "unknown parameter; the input takes none");

  std::int64_t dims[4] = {0, 0, 0, 0};
  const auto rank = static_cast<std::size_t>(input.shape_size());
  for (std::size_t d = 0; d < std::min<std::size_t>(rank, 4); ++d) dims[d] = input.shape(static_cast<int>(d));
  if (!protocol_detail::is_image_shape(dims, rank))
    throw protocol_error("inputs[0].shape", "expected [B, 1, 28, 28] or [B, 784], got " + shape_text(input.shape()));
  const std::int64_t batch = protocol_detail::checked_batch(dims[0], max_images, "inputs[0].shape", std::to_string(dims[0]));
  const std::int64_t expected = batch * image_pixels;

  tensor<float> images({batch, 1, image_side, image_side});
  const char* contents = filled_contents(input.contents());
  if (r.raw_input_contents_size() > 1)
    throw protocol_error("raw_input_contents", "expected one entry (the images), got " + std::to_string(r.raw_input_contents_size()));
  if (r.raw_input_contents_size() == 1) {
    if (contents) throw protocol_error(std::string("inputs[0].contents.") + contents, "given together with raw_input_contents; send one or the other");
    decode_raw_images(r.raw_input_contents(0), bytes, expected, images.data(),
                      {"raw_input_contents[0]", "raw_input_contents[0]", "the entry holds"});
    return images;
  }
  const char* wanted = bytes ? "uint_contents" : "fp32_contents";
  if (!contents) throw protocol_error("inputs[0].contents", std::string("missing: send the values in contents.") + wanted + " or raw_input_contents");
  const std::string path = std::string("inputs[0].contents.") + contents;
  if (std::strcmp(contents, wanted) != 0) throw protocol_error(path, std::string(input.datatype()) + " values go in " + wanted);
  const int count = bytes ? input.contents().uint_contents_size() : input.contents().fp32_contents_size();
  if (count != expected)
    throw protocol_error(path, "shape needs " + std::to_string(expected) + " values, got " + std::to_string(count));
  if (bytes) {
    for (int i = 0; i < count; ++i) {
      const std::uint32_t b = input.contents().uint_contents(i);
      if (b > 255) throw protocol_error(path + "[" + std::to_string(i) + "]", "UINT8 values must be in 0..255, got " + std::to_string(b));
      images.data()[i] = static_cast<float>(b) / 255.0f;
    }
  } else {
    std::copy_n(input.contents().fp32_contents().data(), count, images.data());
    check_fp32_images(images.data(), expected, path.c_str());
  }
  return images;
}

void check_requested_outputs(const pb::ModelInferRequest& r, output_kind kind) {
  for (int k = 0; k < r.outputs_size(); ++k) {
    const std::string path = "outputs[" + std::to_string(k) + "]";
    if (r.outputs(k).name() != output_name(kind))
      throw protocol_error(path + ".name", std::string("this server returns \"") + output_name(kind) + "\", not " + json_quote(r.outputs(k).name()));
    if (!r.outputs(k).parameters().empty())
      throw protocol_error(path + ".parameters." + r.outputs(k).parameters().begin()->first,
                           "unknown parameter; outputs take none (they always come back in raw_output_contents)");
  }
}

infer_request parse_infer_request(const pb::ModelInferRequest& r, output_kind kind, std::int64_t max_images) {
  if (!r.model_version().empty())
    throw protocol_error("model_version", "this server has no model versions; leave it empty, got " + json_quote(r.model_version()));
  infer_request out;
  if (!r.id().empty()) out.id = r.id();
  out.service = parse_parameters(r.parameters(), out.parameters_json);
  check_requested_outputs(r, kind);
  out.images = parse_images(r, max_images);
  return out;
}

void fill_spec(pb::ModelMetadataResponse::TensorMetadata& out, const tensor_spec& spec) {
  out.set_name(spec.name);
  out.set_datatype(spec.datatype);
  for (std::int64_t d : spec.shape) out.add_shape(d);
}

// The one output tensor in raw_output_contents: FP32 probabilities [B, 10] or INT32 labels [B].
void fill_outputs(pb::ModelInferResponse& response, const tensor<float>& probabilities, output_kind kind) {
  const tensor_spec spec = output_spec(kind);
  pb::ModelInferResponse::InferOutputTensor& output = *response.add_outputs();
  output.set_name(spec.name);
  output.set_datatype(spec.datatype);
  const std::int64_t batch = probabilities.dim(0);
  output.add_shape(batch);
  std::string& raw = *response.add_raw_output_contents();
  if (kind == output_kind::probabilities) {
    output.add_shape(class_count);
    raw.assign(reinterpret_cast<const char*>(probabilities.data()), static_cast<std::size_t>(probabilities.numel()) * sizeof(float));
    return;
  }
  raw.resize(static_cast<std::size_t>(batch) * sizeof(std::int32_t));
  for (std::int64_t b = 0; b < batch; ++b) {
    const std::int32_t label = response_detail::top1(probabilities.data() + b * class_count);
    std::memcpy(raw.data() + b * sizeof(std::int32_t), &label, sizeof label);
  }
}

Status unknown_model(const std::string& name, const std::string& task) {
  return {StatusCode::NOT_FOUND, "unknown model " + json_quote(name) + ": this server serves " + json_quote(task)};
}

class inference_service final : public pb::GRPCInferenceService::Service {
 public:
  explicit inference_service(inference_server& server) : server_(server) {}

  Status ServerLive(ServerContext*, const pb::ServerLiveRequest*, pb::ServerLiveResponse* out) override {
    out->set_live(true);
    return Status::OK;
  }
  Status ServerReady(ServerContext*, const pb::ServerReadyRequest*, pb::ServerReadyResponse* out) override {
    out->set_ready(server_.ready());
    return Status::OK;
  }
  Status ModelReady(ServerContext*, const pb::ModelReadyRequest* in, pb::ModelReadyResponse* out) override {
    if (in->name() != task()) return unknown_model(in->name(), task());
    out->set_ready(server_.ready());
    return Status::OK;
  }
  Status ServerMetadata(ServerContext*, const pb::ServerMetadataRequest*, pb::ServerMetadataResponse* out) override {
    out->set_name("patchzoo");
    out->set_version(PATCHZOO_GRPC_SERVER_VERSION);
    return Status::OK;
  }
  Status ModelMetadata(ServerContext*, const pb::ModelMetadataRequest* in, pb::ModelMetadataResponse* out) override {
    if (in->name() != task()) return unknown_model(in->name(), task());
    out->set_name(task());
    out->set_platform(model_platform);
    fill_spec(*out->add_inputs(), input_spec());
    fill_spec(*out->add_outputs(), output_spec(server_.config().output));
    return Status::OK;
  }

  Status ModelInfer(ServerContext* context, const pb::ModelInferRequest* in, pb::ModelInferResponse* out) override {
    if (in->model_name() != task()) return unknown_model(in->model_name(), task());
    const server_config& config = server_.config();
    infer_request request;
    try {
      request = parse_infer_request(*in, config.output, config.max_request_images);
    } catch (const protocol_error& e) {
      server_.record_bad_request(e, context->peer());
      return {StatusCode::INVALID_ARGUMENT, e.what()};
    }
    const infer_result result = server_.infer(std::move(request), context->peer());
    switch (result.status) {
      case infer_status::served: break;
      case infer_status::infeasible: return {StatusCode::FAILED_PRECONDITION, result.message};
      case infer_status::timeout:
      case infer_status::shutting_down: return {StatusCode::UNAVAILABLE, result.message};
      case infer_status::failed: return {StatusCode::INTERNAL, result.message};
    }
    out->set_model_name(task());
    if (!in->id().empty()) out->set_id(in->id());
    fill_outputs(*out, result.probabilities, config.output);
    return Status::OK;
  }

 private:
  const std::string& task() const { return server_.config().task; }
  inference_server& server_;
};

}  // namespace

struct grpc_endpoint::running {
  explicit running(inference_server& server) : service(server) {}
  inference_service service;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
};

grpc_endpoint::grpc_endpoint(inference_server& server, const std::string& host, int port, grpc_limits limits)
    : running_(std::make_unique<running>(server)) {
  check(limits.max_threads >= 1, "grpc_endpoint", "max_threads must be >= 1, got ", limits.max_threads);
  grpc::ServerBuilder builder;
  const std::string address = host + ":" + std::to_string(port);
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &running_->port);
  builder.RegisterService(&running_->service);
  // The largest valid request (max_request_images FP32 images) plus room for its metadata; gRPC itself
  // answers a larger message RESOURCE_EXHAUSTED before it is read into memory.
  const std::int64_t largest = server.config().max_request_images * image_pixels * 4 + (1 << 20);
  builder.SetMaxReceiveMessageSize(static_cast<int>(std::min<std::int64_t>(largest, INT_MAX)));
  grpc::ResourceQuota quota("patchzoo-grpc");
  quota.SetMaxThreads(limits.max_threads);
  builder.SetResourceQuota(quota);
  running_->server = builder.BuildAndStart();
  check(running_->server != nullptr && running_->port > 0, "grpc_endpoint", "could not listen on ", address,
        " (in use, or not an address of this machine?)");
}

grpc_endpoint::~grpc_endpoint() {
  // RPCs still running after the grace period are cancelled: a stop never hangs on a stuck client.
  running_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  running_->server->Wait();
}

int grpc_endpoint::port() const { return running_->port; }

}  // namespace patchzoo::serve
