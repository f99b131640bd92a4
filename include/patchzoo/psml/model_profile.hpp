#pragma once
// What the server knows about one model of the zoo: its measured accuracy and latency. Selection reads
// only these stored profiles, so it is deterministic and testable without running a model.
#include <cstdint>
#include <string>

namespace patchzoo::psml {

struct model_profile {
  std::string id;            // stable identifier, never shown to clients
  std::string name;          // human-readable architecture name
  double accuracy = 0.0;     // top-1 on the held-out profiling split, in [0, 1]
  double latency_p50_ms = 0.0;  // single-thread, batch 1
  double latency_p99_ms = 0.0;
  std::int64_t parameters = 0;
  std::int64_t flops = 0;    // forward multiply-adds x 2 per image
};

}  // namespace patchzoo::psml
