#pragma once
// The model-less router: holds the zoo's profiles and Pareto front, turns a service request into one
// concrete model through a selection mechanism, and keeps the server-side state selection may read
// (which models are warm, an administrator's pin). Thread-safe; every decision is a pure function of
// the seed, the request number, the request and that state. Selection is either once per request
// (every input of a batch answered by one model, as in the paper's code) or once per input, so that
// probe inputs riding in a batch no longer reveal which model answered the rest of it.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "patchzoo/core/error.hpp"
#include "patchzoo/core/rng.hpp"
#include "patchzoo/psml/model_profile.hpp"
#include "patchzoo/psml/pareto.hpp"
#include "patchzoo/psml/selection_mechanism.hpp"
#include "patchzoo/psml/service_request.hpp"

namespace patchzoo::psml {

enum class selection_granularity { per_request, per_input };

inline selection_granularity parse_selection_granularity(std::string_view text) {
  if (text == "per-request") return selection_granularity::per_request;
  if (text == "per-input") return selection_granularity::per_input;
  throw error("selection_granularity: expected 'per-request' or 'per-input', got '" + std::string(text) + "'");
}

inline const char* granularity_name(selection_granularity g) {
  return g == selection_granularity::per_request ? "per-request" : "per-input";
}

struct router_config {
  latency_metric metric = latency_metric::p50;
  std::uint64_t seed = 0;
  std::size_t loaded_capacity = 5;  // how many recently chosen models count as warm (INFaaS keeps 5)
  selection_granularity granularity = selection_granularity::per_request;
};

struct route_decision {
  selection_status status = selection_status::infeasible;
  std::size_t model_index = 0;        // valid when status == selected
  std::vector<std::size_t> feasible;  // zoo indices of F(A, L), latency order
  bool pinned = false;                // chosen by an administrator's pin, not by the mechanism
  bool met_request = false;           // the chosen model satisfies the client's original request
  std::uint64_t request_number = 0;   // 1, 2, ...: also the index of this request's random stream
};

class router {
 public:
  // Random draws of request n come from the Philox stream at counter n * stride; a mechanism may use up
  // to `stride` draws per request without overlapping the next request's.
  static constexpr std::uint64_t rng_stride = std::uint64_t{1} << 20;

  router(std::vector<model_profile> profiles, router_config config, std::unique_ptr<selection_mechanism> mechanism)
      : profiles_(std::move(profiles)), config_(config), mechanism_(std::move(mechanism)) {
    check(!profiles_.empty(), "router", "the zoo has no models");
    check(mechanism_ != nullptr, "router", "no selection mechanism");
    for (const model_profile& p : profiles_)
      check(p.accuracy >= 0.0 && p.accuracy <= 1.0 && latency_of(p, config_.metric) > 0.0, "router", "model '",
            p.id, "' has an invalid profile (accuracy ", p.accuracy, ", latency ", latency_of(p, config_.metric),
            " ms)");
    front_ = pareto_front(profiles_, config_.metric);
    last_used_.assign(profiles_.size(), 0);
  }

  const std::vector<model_profile>& profiles() const { return profiles_; }
  const std::vector<std::size_t>& front() const { return front_; }
  const router_config& config() const { return config_; }
  const selection_mechanism& mechanism() const { return *mechanism_; }

  std::optional<std::size_t> find(std::string_view id) const {
    for (std::size_t i = 0; i < profiles_.size(); ++i)
      if (profiles_[i].id == id) return i;
    return std::nullopt;
  }

  // Selection's own test (psml::meets) for any zoo model, on the front or not; reads no router state.
  bool meets_request(std::size_t model_index, const service_request& r) const {
    const model_profile& p = profiles_.at(model_index);
    return meets({.model_index = model_index, .accuracy = p.accuracy, .latency_ms = latency_of(p, config_.metric)}, r);
  }

  // An administrator's pin serves one concrete model (any zoo model, on the front or not) to every request.
  void pin(std::size_t model_index) {
    check(model_index < profiles_.size(), "router", "pin: no model ", model_index, " in a zoo of ", profiles_.size());
    std::lock_guard lock(mutex_);
    pinned_ = model_index;
  }
  void unpin() {
    std::lock_guard lock(mutex_);
    pinned_.reset();
  }
  std::optional<std::size_t> pinned() const {
    std::lock_guard lock(mutex_);
    return pinned_;
  }

  route_decision route(const service_request& request) {
    check_service_request(request);
    std::lock_guard lock(mutex_);
    return decide(request);
  }

  // One decision per input of a batch of `inputs`: per_request repeats one decision (one request
  // number); per_input makes `inputs` independent decisions with consecutive request numbers. One lock
  // keeps a batch's request numbers contiguous under concurrent clients.
  std::vector<route_decision> route_inputs(const service_request& request, std::size_t inputs) {
    check_service_request(request);
    std::lock_guard lock(mutex_);
    if (inputs == 0) return {};
    if (config_.granularity == selection_granularity::per_request) return std::vector<route_decision>(inputs, decide(request));
    std::vector<route_decision> out;
    out.reserve(inputs);
    for (std::size_t i = 0; i < inputs; ++i) out.push_back(decide(request));
    return out;
  }

 private:
  // Caller holds mutex_.
  route_decision decide(const service_request& request) {
    route_decision d;
    d.request_number = ++requests_;
    const std::vector<candidate> front = candidates();
    for (const candidate& c : front)
      if (meets(c, request)) d.feasible.push_back(c.model_index);
    if (pinned_) {
      d.status = selection_status::selected;
      d.model_index = *pinned_;
      d.pinned = true;
    } else {
      rng_stream rng(config_.seed, d.request_number * rng_stride);
      const selection s = mechanism_->select(request, front, rng);
      d.status = s.status;
      d.model_index = s.model_index;
    }
    if (d.status == selection_status::selected) {
      check(d.model_index < profiles_.size(), "router", "mechanism '", mechanism_->name(), "' chose model ",
            d.model_index, " outside the zoo");
      d.met_request = meets_request(d.model_index, request);
      mark_used(d.model_index, d.request_number);
    }
    return d;
  }

  std::vector<candidate> candidates() const {
    std::vector<candidate> out;
    out.reserve(front_.size());
    for (std::size_t i : front_) {
      const bool loaded = std::find(recent_.begin(), recent_.end(), i) != recent_.end();
      out.push_back({i, profiles_[i].accuracy, latency_of(profiles_[i], config_.metric), loaded, last_used_[i]});
    }
    return out;
  }

  void mark_used(std::size_t model_index, std::uint64_t request_number) {
    last_used_[model_index] = request_number;
    recent_.erase(std::remove(recent_.begin(), recent_.end(), model_index), recent_.end());
    recent_.push_front(model_index);
    while (recent_.size() > config_.loaded_capacity) recent_.pop_back();
  }

  std::vector<model_profile> profiles_;
  router_config config_;
  std::unique_ptr<selection_mechanism> mechanism_;
  std::vector<std::size_t> front_;
  mutable std::mutex mutex_;
  std::uint64_t requests_ = 0;
  std::vector<std::uint64_t> last_used_;
  std::deque<std::size_t> recent_;  // most recently chosen first, at most loaded_capacity
  std::optional<std::size_t> pinned_;
};

}  // namespace patchzoo::psml
