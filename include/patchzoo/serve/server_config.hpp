#pragma once
// Everything `patchzoo serve` can be told on its command line, with the defaults it uses.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "patchzoo/psml/defense_config.hpp"
#include "patchzoo/psml/router.hpp"
#include "patchzoo/psml/selection_mechanism.hpp"
#include "patchzoo/psml/selection_policy.hpp"
#include "patchzoo/serve/dynamic_batcher.hpp"
#include "patchzoo/serve/http_server.hpp"
#include "patchzoo/serve/inference_protocol.hpp"
#include "patchzoo/serve/model_executor.hpp"

namespace patchzoo::serve {

struct server_config {
  std::string task = "fashion-mnist";  // the only {task} this server answers for; names the zoo, not a model
  std::string host = "127.0.0.1";
  int port = 0;                        // 0: any free port (inference_server::port() tells which)
  batching_config batching;
  output_kind output = output_kind::probabilities;
  psml::selection_policy policy = psml::selection_policy::uniform;
  psml::router_config routing;        // routing.granularity: one model per request or per input
  psml::defense_config defense;       // how the model is chosen (PSML's defenses); never settable by a client
  std::string admin_token;             // empty: no admin endpoints at all
  std::filesystem::path request_log;   // empty: no request log
  http_limits http;                    // handler threads (more than workers, so batches form), timeouts, caps
  std::int64_t max_request_images = 1024;
  std::chrono::milliseconds request_timeout{10000};  // a request still unanswered after this gets 503
  // Builds the selection mechanism itself, overriding `defense` (tests, custom mechanisms). Server-side only.
  std::function<std::unique_ptr<psml::selection_mechanism>()> make_mechanism;
};

// Builds the executor at start-up and again on every admin reload.
using executor_loader = std::function<std::shared_ptr<model_executor>()>;

}  // namespace patchzoo::serve
