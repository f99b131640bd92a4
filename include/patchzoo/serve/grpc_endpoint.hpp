#pragma once
// The Open Inference Protocol's gRPC service (KServe v2 GRPCInferenceService: ServerLive, ServerReady,
// ModelReady, ServerMetadata, ModelMetadata, ModelInfer) in front of an inference_server, on its own port.
// Requests take the HTTP path's router, defense, batcher, metrics and request log; only parsing and the
// status codes differ (docs/serving.md, "gRPC"). Compiled, not header-only: link patchzoo::grpc, built
// when Debian's gRPC is there (libgrpc++-dev, protobuf-compiler-grpc). The service's proto is
// src/grpc/grpc_predict_v2.proto; this header needs none of gRPC's.
#include <memory>
#include <string>

namespace patchzoo::serve {

class inference_server;

struct grpc_limits {
  // Calls in flight at once, each holding a gRPC thread (mostly waiting for its batch); more are answered
  // RESOURCE_EXHAUSTED at once, like the HTTP side's connection cap.
  int max_threads = 512;
};

class grpc_endpoint {
 public:
  // Binds host:port (0: any free port) and answers on gRPC's threads until destroyed. `server` must
  // outlive the endpoint and be started.
  grpc_endpoint(inference_server& server, const std::string& host, int port, grpc_limits limits = {});
  ~grpc_endpoint();  // stops: waits for the RPCs in flight
  grpc_endpoint(const grpc_endpoint&) = delete;
  grpc_endpoint& operator=(const grpc_endpoint&) = delete;

  int port() const;

 private:
  struct running;
  std::unique_ptr<running> running_;
};

}  // namespace patchzoo::serve
