// `patchzoo serve --zoo DIR`: the model-less inference server. Clients name the task and state their
// accuracy/latency needs on the Open Inference Protocol; the server picks a Pareto-optimal model of the
// zoo and never tells which; --defense makes that choice a randomised PSML defense (docs/serving.md,
// "Defenses"). Runs until SIGINT or SIGTERM, then prints what it served.
#include <signal.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "patchzoo/psml/defense_config.hpp"
#include "patchzoo/serve/inference_server.hpp"
#ifdef PATCHZOO_HAVE_GRPC
#include "patchzoo/serve/grpc_endpoint.hpp"
#endif
#include "patchzoo/serve/zoo_executor.hpp"
#include "patchzoo/util/report.hpp"
#include "patchzoo/zoo/model_zoo.hpp"
#include "backend_choice.hpp"
#include "subcommands.hpp"

namespace {

using namespace patchzoo;

struct serve_options {
  std::string zoo;
  std::string backend = "eigen";
  std::string task = "fashion-mnist";
  std::string host = "127.0.0.1";
  int port = 8000;
  int grpc_port = -1;  // -1: no gRPC endpoint
  int grpc_threads = 512;
  int workers = 2;
  int io_threads = 2;
  int http_threads = 16;
  std::size_t max_connections = 512;
  std::size_t max_pending = 1024;
  double max_body_mb = 16.0;
  int read_timeout_ms = 5000;
  std::int64_t max_batch = 32;
  double max_queue_delay_ms = 0.0;  // as Triton: batches form from what queues while the workers are busy
  std::string output = "probabilities";
  std::string policy = "uniform";
  std::string latency_metric = "p50";
  std::string defense = "none";
  std::string granularity = "per-request";
  std::string admin_token;
  std::string request_log;
  std::uint64_t seed = 0;
  bool json = false;
};

void run_serve(const serve_options& o) {
  serve::server_config config;
  config.task = o.task;
  config.host = o.host;
  config.port = o.port;
  config.http.io_threads = o.io_threads;
  config.http.handler_threads = o.http_threads;
  config.http.max_connections = o.max_connections;
  config.http.max_pending = o.max_pending;
  config.http.max_body_bytes = static_cast<std::uint64_t>(o.max_body_mb * 1024.0 * 1024.0);
  config.http.read_timeout = std::chrono::milliseconds(o.read_timeout_ms);
  config.http.write_timeout = std::chrono::milliseconds(o.read_timeout_ms);
  config.batching.workers = o.workers;
  config.batching.max_batch = o.max_batch;
  config.batching.max_queue_delay = std::chrono::microseconds(static_cast<std::int64_t>(o.max_queue_delay_ms * 1000.0));
  config.output = serve::parse_output_kind(o.output);
  config.policy = psml::parse_selection_policy(o.policy);
  config.routing.metric = psml::parse_latency_metric(o.latency_metric);
  config.routing.seed = o.seed;
  config.routing.granularity = psml::parse_selection_granularity(o.granularity);
  config.defense = psml::parse_defense_config(o.defense);
  config.admin_token = o.admin_token;
  config.request_log = o.request_log;

  // Every thread the server starts inherits this mask, so SIGINT/SIGTERM reach only the sigwait below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  serve::executor_loader loader;
  with_cpu_backend(o.backend, [&]<class B>() { loader = serve::zoo_loader<zoo::model_zoo<B>>(o.zoo); });
#ifndef PATCHZOO_HAVE_GRPC
  if (o.grpc_port >= 0)
    throw error("--grpc-port: this patchzoo was built without gRPC (Debian: libgrpc++-dev libprotobuf-dev protobuf-compiler "
                "protobuf-compiler-grpc, then rebuild)");
#endif
  serve::inference_server server(config, loader);
  server.start();
  int grpc_port = -1;
#ifdef PATCHZOO_HAVE_GRPC
  std::unique_ptr<serve::grpc_endpoint> grpc;
  if (o.grpc_port >= 0) {
    grpc = std::make_unique<serve::grpc_endpoint>(server, config.host, o.grpc_port, serve::grpc_limits{o.grpc_threads});
    grpc_port = grpc->port();
    std::cerr << "patchzoo serve: gRPC (inference.GRPCInferenceService) on " << config.host << ":" << grpc_port << std::endl;
  }
#endif
  std::cerr << "patchzoo serve: task '" << config.task << "' on http://" << config.host << ":" << server.port()
            << " (backend " << o.backend << ", policy " << o.policy << ", defense " << psml::describe(config.defense)
            << ", " << o.granularity << " selection, " << o.workers << " workers, max batch " << o.max_batch << ", queue delay "
            << o.max_queue_delay_ms << " ms, admin " << (o.admin_token.empty() ? "off" : "on") << ")" << std::endl;
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  const auto stopping = std::chrono::steady_clock::now();
#ifdef PATCHZOO_HAVE_GRPC
  grpc.reset();
#endif
  server.stop();
  pthread_sigmask(SIG_UNBLOCK, &stop_signals, nullptr);

  report r;
  r["task"] = config.task;
  r["backend"] = o.backend;
  r["port"] = server.port();
  if (grpc_port >= 0) r["grpc_port"] = grpc_port;
  r["defense"] = psml::describe(config.defense);
  r["granularity"] = o.granularity;
  r["signal"] = signal_number == SIGINT ? "SIGINT" : "SIGTERM";
  r["shutdown_ms"] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - stopping).count();
  std::uint64_t requests = 0, images = 0, batches = 0;
  for (const auto& [id, s] : server.metrics().per_model()) {
    requests += s.requests;
    images += s.batched_images;
    batches += s.batches;
  }
  r["requests"] = requests;
  r["images"] = images;
  r["batches"] = batches;
  r["mean_batch_size"] = batches ? static_cast<double>(images) / static_cast<double>(batches) : 0.0;
  r.emit(o.json);
}

}  // namespace

void register_serve(CLI::App& app) {
  auto o = std::make_shared<serve_options>();
  auto* cmd = app.add_subcommand("serve", "Model-less inference server (Open Inference Protocol / KServe v2 over HTTP)");
  cmd->add_option("--zoo", o->zoo, "Zoo directory (zoo.json and weights, from `patchzoo zoo train`)")->required();
  add_backend_option(cmd, o->backend);
  cmd->add_option("--task", o->task, "The {task} name clients use in /v2/models/{task}");
  cmd->add_option("--host", o->host, "Address to listen on");
  cmd->add_option("--port", o->port, "Port to listen on; 0 picks a free one")->check(CLI::Range(0, 65535));
  cmd->add_option("--grpc-port", o->grpc_port, "Also serve the Open Inference Protocol over gRPC on this port (0: a free one; -1: off)")
      ->check(CLI::Range(-1, 65535));
  cmd->add_option("--grpc-threads", o->grpc_threads, "gRPC calls handled at once; more are answered RESOURCE_EXHAUSTED")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--workers", o->workers, "Threads running batched predict calls")->check(CLI::Range(1, 256));
  cmd->add_option("--io-threads", o->io_threads, "Threads reading and writing connections, each with its own event loop")
      ->check(CLI::Range(1, 64));
  cmd->add_option("--http-threads", o->http_threads, "Requests handled at once (connections themselves cost no thread)")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--max-connections", o->max_connections, "Open connections; more are answered 503 and closed")
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--max-pending", o->max_pending, "Complete requests waiting for a handler; more are answered 503 at once")
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--max-body-mb", o->max_body_mb, "Largest request body; larger ones are answered 413")
      ->check(CLI::Range(0.001, 4096.0));
  cmd->add_option("--read-timeout-ms", o->read_timeout_ms,
                  "A connection that does not deliver a whole request (or take a whole response) within this is closed")
      ->check(CLI::Range(10, 600000));
  cmd->add_option("--max-batch", o->max_batch, "Most images in one predict call")->check(CLI::Range(1, 4096));
  cmd->add_option("--max-queue-delay-ms", o->max_queue_delay_ms, "Longest a request waits for batch company")
      ->check(CLI::Range(0.0, 10000.0));
  cmd->add_option("--output", o->output, "Response tensor")->check(CLI::IsMember({"probabilities", "top1"}));
  cmd->add_option("--policy", o->policy, "Choice inside the feasible set")
      ->check(CLI::IsMember({"uniform", "min-latency", "max-accuracy", "infaas-like"}));
  cmd->add_option("--defense", o->defense,
                  "Selection defense: none | exponential:score=l1|goodput|quantile,epsilon=E,sensitivity=S | "
                  "permute-and-flip:... | noisy-spec:noise=laplace|gaussian,accuracy=A,latency=MS,never-looser=1|0")
      ->check([](const std::string& spec) {
        try {
          psml::parse_defense_config(spec);
          return std::string();
        } catch (const error& e) {
          return std::string(e.what());
        }
      });
  cmd->add_option("--granularity", o->granularity, "Choose a model once per request or once per input image")
      ->check(CLI::IsMember({"per-request", "per-input"}));
  cmd->add_option("--latency-metric", o->latency_metric, "Profiled latency the router compares")
      ->check(CLI::IsMember({"p50", "p99"}));
  cmd->add_option("--admin-token", o->admin_token, "Enables the /v2/admin endpoints behind 'Authorization: Bearer <token>'")
      ->envname("PATCHZOO_ADMIN_TOKEN");
  cmd->add_option("--request-log", o->request_log, "Append one JSON line per request (server-side only)");
  cmd->add_option("--seed", o->seed, "Seed of the router's random choices");
  cmd->add_flag("--json", o->json, "Print the shutdown summary as one JSON object");
  cmd->callback([o] { run_serve(*o); });
}
