#pragma once
// The four ways the experiments collect labels from a model-less server (PSML, arXiv 2307.01292):
//   single             the victim pinned by the administrator: the upper bound, no selection at all;
//   naive              a best-guess spec (the victim's public accuracy minus a margin, no latency bound);
//   fingerprint        the fingerprinter's trigger spec;
//   fingerprint-filter the trigger spec, each request also carrying the probe images; an answer whose
//                      probes do not carry the victim's signature is dropped (adaptive attacker).
// A budget counts every image submitted, probes included (one query = one image).
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "patchzoo/attack/signature.hpp"
#include "patchzoo/attack/zoo_client.hpp"
#include "patchzoo/core/error.hpp"

namespace patchzoo::attack {

enum class attack_mode { single, naive, fingerprint, fingerprint_filter };

inline constexpr attack_mode all_attack_modes[] = {attack_mode::single, attack_mode::naive, attack_mode::fingerprint,
                                                   attack_mode::fingerprint_filter};

inline const char* attack_mode_name(attack_mode m) {
  switch (m) {
    case attack_mode::single: return "single";
    case attack_mode::naive: return "naive";
    case attack_mode::fingerprint: return "fingerprint";
    case attack_mode::fingerprint_filter: return "fingerprint+filter";
  }
  return "unknown";
}

inline attack_mode parse_attack_mode(std::string_view text) {
  for (attack_mode m : all_attack_modes)
    if (text == attack_mode_name(m)) return m;
  throw error("attack mode: expected single, naive, fingerprint or fingerprint+filter, got '" + std::string(text) + "'");
}

// The small / medium / large extraction budgets (queries).
struct query_budget {
  std::string name;
  std::int64_t queries = 0;
};
inline std::vector<query_budget> default_budgets() { return {{"small", 500}, {"medium", 2000}, {"large", 8000}}; }

// What the attacker holds after the extraction phase: one row per pool image it submitted.
struct collected_labels {
  tensor<float> images;     // [N, 1, 28, 28]: the pool images submitted, in order
  tensor<float> responses;  // [N, 10]: the answers (zeros where refused)
  std::vector<bool> keep;   // answered and, when filtering, signed by the victim
  std::int64_t queries = 0;  // images submitted, probes included (<= budget)
  std::int64_t requests = 0, refused_requests = 0, filtered_requests = 0;
  std::int64_t kept() const { return static_cast<std::int64_t>(std::count(keep.begin(), keep.end(), true)); }
};

struct collection_plan {
  psml::service_request spec;
  std::int64_t budget = 2000;
  std::int64_t batch = 16;           // pool images per request
  const tensor<float>* probes = nullptr;      // set: append them to every request and filter
  const signature* victim_signature = nullptr;  // required with probes
};

// Sends the pool in order, `batch` images per request (+ probes), until the next request would exceed
// the budget; the last request is shortened to use the budget exactly.
inline collected_labels collect_labels(zoo_client& client, const tensor<float>& pool, const collection_plan& plan) {
  check(plan.batch >= 1 && plan.budget >= 1, "collect_labels", "batch and budget must be >= 1");
  check(!plan.probes || plan.victim_signature, "collect_labels", "filtering needs the victim's signature");
  const std::int64_t probe_count = plan.probes ? plan.probes->dim(0) : 0;
  check(plan.budget > probe_count, "collect_labels", "a budget of ", plan.budget, " cannot carry ", probe_count,
        " probes and any pool image");
  const std::int64_t start_queries = client.queries();
  std::int64_t used = 0, rows = 0;
  std::vector<tensor<float>> answers;
  std::vector<bool> keep;
  collected_labels out;
  while (true) {
    const std::int64_t left = plan.budget - used - probe_count;
    const std::int64_t n = std::min(plan.batch, left);
    if (n < 1) break;
    check(rows + n <= pool.dim(0), "collect_labels", "the pool holds ", pool.dim(0), " images; the budget needs more");
    const tensor<float> part = slice_rows(pool, rows, n);
    const client_response r = client.query(plan.spec, plan.probes ? append_probes(part, *plan.probes) : part.clone());
    used += n + probe_count;
    ++out.requests;
    bool accept = r.answered;
    out.refused_requests += !r.answered;
    if (r.answered && plan.probes && signature_of(r.probabilities, n, probe_count) != *plan.victim_signature) {
      accept = false;
      ++out.filtered_requests;
    }
    answers.push_back(r.answered ? slice_rows(r.probabilities, 0, n) : tensor<float>(shape_t{n, 10}));
    if (!r.answered) answers.back().zero();
    keep.insert(keep.end(), static_cast<std::size_t>(n), accept);
    rows += n;
  }
  out.images = slice_rows(pool, 0, rows);
  out.responses = tensor<float>(shape_t{rows, 10});
  std::int64_t at = 0;
  for (const tensor<float>& a : answers) {
    std::copy(a.data(), a.data() + a.numel(), out.responses.data() + at);
    at += a.numel();
  }
  out.keep = std::move(keep);
  out.queries = client.queries() - start_queries;
  return out;
}

}  // namespace patchzoo::attack
