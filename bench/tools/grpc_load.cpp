// A closed-loop gRPC load generator for the Open Inference Protocol's ModelInfer, the gRPC counterpart of
// wrk in bench/anchors/serve_load.sh (no gRPC load tool is packaged in Debian): `connections` channels,
// each its own TCP connection with one request in flight, driven by `threads` completion-queue threads
// for `duration` seconds. Every request is one 784-pixel FP32 image in raw_input_contents. Prints one
// JSON line: requests/s, p50/p99 latency, and non-OK answers by status code.
//
//   patchzoo_grpc_load --target 127.0.0.1:8001 --connections 8 --duration 10 --image-file pixels.f32
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <grpcpp/grpcpp.h>

#include "grpc_predict_v2.grpc.pb.h"

namespace {

namespace pb = inference;
using clock_type = std::chrono::steady_clock;

struct call {
  grpc::ClientContext context;
  pb::ModelInferResponse response;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<pb::ModelInferResponse>> reader;
  clock_type::time_point sent;
  std::size_t connection = 0;
};

struct thread_result {
  std::vector<double> latencies_ms;
  std::map<int, std::uint64_t> errors;  // by grpc::StatusCode
};

// Keeps one request in flight on each of this thread's connections until `stop_at`.
void drive(const std::vector<std::unique_ptr<pb::GRPCInferenceService::Stub>>& stubs, const pb::ModelInferRequest& request,
           clock_type::time_point stop_at, thread_result& out) {
  grpc::CompletionQueue queue;
  auto send = [&](std::size_t connection) {
    auto* c = new call;
    c->connection = connection;
    c->sent = clock_type::now();
    c->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));  // wrk's timeout
    c->reader = stubs[connection]->AsyncModelInfer(&c->context, request, &queue);
    c->reader->Finish(&c->response, &c->status, c);
  };
  for (std::size_t k = 0; k < stubs.size(); ++k) send(k);
  std::size_t in_flight = stubs.size();
  void* tag = nullptr;
  bool ok = false;
  while (in_flight > 0 && queue.Next(&tag, &ok)) {
    std::unique_ptr<call> c(static_cast<call*>(tag));
    const auto now = clock_type::now();
    if (c->status.ok()) out.latencies_ms.push_back(std::chrono::duration<double, std::milli>(now - c->sent).count());
    else ++out.errors[static_cast<int>(c->status.error_code())];
    if (now < stop_at) send(c->connection);
    else --in_flight;
  }
  queue.Shutdown();
  while (queue.Next(&tag, &ok)) {}
}

double percentile(std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0.0;
  const auto k = static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(k, sorted.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Closed-loop gRPC ModelInfer load (one FP32 image per request)");
  std::string target = "127.0.0.1:8001", model = "fashion-mnist", image_file, parameters;
  int connections = 8, threads = 1;
  double duration_s = 10.0, min_accuracy = -1.0;
  app.add_option("--target", target, "host:port of the gRPC endpoint")->capture_default_str();
  app.add_option("--model", model, "model_name of the requests")->capture_default_str();
  app.add_option("--connections", connections, "Channels, each one connection with one request in flight")->capture_default_str()->check(CLI::Range(1, 4096));
  app.add_option("--threads", threads, "Completion-queue threads")->capture_default_str()->check(CLI::Range(1, 64));
  app.add_option("--duration", duration_s, "Seconds of load")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--image-file", image_file, "784 little-endian float32 pixels in [0, 1] (default: all 0.5)");
  app.add_option("--min-accuracy", min_accuracy, "Send parameters.min_accuracy (default: none)");
  CLI11_PARSE(app, argc, argv);

  std::string pixels(784 * sizeof(float), '\0');
  if (image_file.empty()) {
    const std::vector<float> grey(784, 0.5f);
    std::memcpy(pixels.data(), grey.data(), pixels.size());
  } else {
    std::ifstream in(image_file, std::ios::binary);
    if (!in.read(pixels.data(), static_cast<std::streamsize>(pixels.size()))) {
      std::cerr << "grpc_load: " << image_file << " does not hold 784 float32 values (3136 bytes)\n";
      return 2;
    }
  }
  pb::ModelInferRequest request;
  request.set_model_name(model);
  auto* input = request.add_inputs();
  input->set_name("images");
  input->set_datatype("FP32");
  input->add_shape(1);
  input->add_shape(784);
  request.add_raw_input_contents(pixels);
  if (min_accuracy >= 0.0) (*request.mutable_parameters())["min_accuracy"].set_double_param(min_accuracy);

  // One TCP connection per channel: a local subchannel pool stops channels to one target sharing one.
  std::vector<std::vector<std::unique_ptr<pb::GRPCInferenceService::Stub>>> stubs(static_cast<std::size_t>(threads));
  for (int k = 0; k < connections; ++k) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
    if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(5))) {
      std::cerr << "grpc_load: cannot connect to " << target << "\n";
      return 2;
    }
    stubs[static_cast<std::size_t>(k % threads)].push_back(pb::GRPCInferenceService::NewStub(channel));
  }

  const auto start = clock_type::now();
  const auto stop_at = start + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(duration_s));
  std::vector<thread_result> results(static_cast<std::size_t>(threads));
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&, t] { drive(stubs[static_cast<std::size_t>(t)], request, stop_at, results[static_cast<std::size_t>(t)]); });
  for (auto& w : workers) w.join();
  const double elapsed = std::chrono::duration<double>(clock_type::now() - start).count();

  std::vector<double> latencies;
  std::map<int, std::uint64_t> errors;
  for (auto& r : results) {
    latencies.insert(latencies.end(), r.latencies_ms.begin(), r.latencies_ms.end());
    for (auto [code, n] : r.errors) errors[code] += n;
  }
  std::sort(latencies.begin(), latencies.end());
  std::uint64_t failed = 0;
  std::string by_code = "{";
  for (auto [code, n] : errors) {
    by_code += (by_code.size() > 1 ? "," : "") + std::string("\"") + std::to_string(code) + "\":" + std::to_string(n);
    failed += n;
  }
  by_code += "}";
  std::printf("{\"connections\":%d,\"threads\":%d,\"seconds\":%.2f,\"ok\":%zu,\"requests_per_s\":%.0f,\"p50_ms\":%.3f,"
              "\"p99_ms\":%.3f,\"failed\":%llu,\"failed_by_code\":%s}\n",
              connections, threads, elapsed, latencies.size(), static_cast<double>(latencies.size()) / elapsed,
              percentile(latencies, 0.50), percentile(latencies, 0.99), static_cast<unsigned long long>(failed), by_code.c_str());
  return failed == 0 ? 0 : 1;
}
