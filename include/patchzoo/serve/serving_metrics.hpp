#pragma once
// Per-model serving statistics (requests, batches, batch sizes, a request latency histogram) and their
// Prometheus text form. Per-model series carry model ids, so the server shows them to administrators only.
#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

namespace patchzoo::serve {

class latency_histogram {
 public:
  static constexpr std::array<double, 12> bounds_ms = {0.25, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000};

  void add(double ms) {
    for (std::size_t b = 0; b < bounds_ms.size(); ++b)
      if (ms <= bounds_ms[b]) ++counts_[b];
    ++count_;
    sum_ms_ += ms;
  }
  std::uint64_t count() const { return count_; }
  double sum_ms() const { return sum_ms_; }
  std::uint64_t cumulative(std::size_t bucket) const { return counts_[bucket]; }  // requests <= bounds_ms[bucket]

 private:
  std::array<std::uint64_t, bounds_ms.size()> counts_{};
  std::uint64_t count_ = 0;
  double sum_ms_ = 0.0;
};

struct model_statistics {
  std::uint64_t requests = 0;
  std::uint64_t images = 0;
  std::uint64_t batches = 0;         // predict calls
  std::uint64_t batched_images = 0;  // images over all predict calls
  latency_histogram latency;         // request arrival to response ready, ms

  double mean_batch_size() const { return batches ? static_cast<double>(batched_images) / static_cast<double>(batches) : 0.0; }
};

class serving_metrics {
 public:
  void record_batch(const std::string& model_id, std::int64_t images) {
    std::lock_guard lock(mutex_);
    auto& s = models_[model_id];
    ++s.batches;
    s.batched_images += static_cast<std::uint64_t>(images);
  }
  void record_request(const std::string& model_id, std::int64_t images, double latency_ms) {
    std::lock_guard lock(mutex_);
    auto& s = models_[model_id];
    ++s.requests;
    s.images += static_cast<std::uint64_t>(images);
    s.latency.add(latency_ms);
    all_latency_.add(latency_ms);
  }
  void record_infeasible() { count("infeasible"); }
  void record_bad_request() { count("bad_request"); }
  void record_failure() { count("failed"); }

  std::map<std::string, model_statistics> per_model() const {
    std::lock_guard lock(mutex_);
    return models_;
  }

  nlohmann::ordered_json per_model_json() const {
    std::lock_guard lock(mutex_);
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    for (const auto& [id, s] : models_) {
      nlohmann::ordered_json histogram = nlohmann::ordered_json::object();
      for (std::size_t b = 0; b < latency_histogram::bounds_ms.size(); ++b)
        histogram["le_" + number(latency_histogram::bounds_ms[b]) + "ms"] = s.latency.cumulative(b);
      out[id] = {{"requests", s.requests},
                 {"images", s.images},
                 {"batches", s.batches},
                 {"mean_batch_size", s.mean_batch_size()},
                 {"mean_latency_ms", s.latency.count() ? s.latency.sum_ms() / static_cast<double>(s.latency.count()) : 0.0},
                 {"latency_histogram", histogram}};
    }
    return out;
  }

  // Prometheus text exposition (version 0.0.4). Aggregate series always; per-model ones when asked.
  std::string prometheus_text(bool per_model) const {
    std::lock_guard lock(mutex_);
    std::string out;
    std::uint64_t requests = 0, batches = 0, batched = 0;
    for (const auto& [id, s] : models_) {
      requests += s.requests;
      batches += s.batches;
      batched += s.batched_images;
    }
    out += "# HELP patchzoo_requests_total Inference requests answered.\n# TYPE patchzoo_requests_total counter\n";
    out += "patchzoo_requests_total " + std::to_string(requests) + "\n";
    out += "# HELP patchzoo_rejected_total Inference requests not answered, by reason.\n# TYPE patchzoo_rejected_total counter\n";
    for (const char* reason : {"infeasible", "bad_request", "failed"})
      out += std::string("patchzoo_rejected_total{reason=\"") + reason + "\"} " + std::to_string(counter(reason)) + "\n";
    out += "# HELP patchzoo_batches_total Batched predict calls.\n# TYPE patchzoo_batches_total counter\n";
    out += "patchzoo_batches_total " + std::to_string(batches) + "\n";
    out += "# HELP patchzoo_batched_images_total Images over all predict calls.\n# TYPE patchzoo_batched_images_total counter\n";
    out += "patchzoo_batched_images_total " + std::to_string(batched) + "\n";
    out += "# HELP patchzoo_request_latency_ms Request latency, arrival to response, in ms.\n# TYPE patchzoo_request_latency_ms histogram\n";
    append_histogram(out, "patchzoo_request_latency_ms", "", all_latency_);
    if (!per_model) return out;
    out += "# HELP patchzoo_model_requests_total Requests served per model.\n# TYPE patchzoo_model_requests_total counter\n";
    for (const auto& [id, s] : models_) out += "patchzoo_model_requests_total{model=\"" + id + "\"} " + std::to_string(s.requests) + "\n";
    out += "# HELP patchzoo_model_batches_total Predict calls per model.\n# TYPE patchzoo_model_batches_total counter\n";
    for (const auto& [id, s] : models_) out += "patchzoo_model_batches_total{model=\"" + id + "\"} " + std::to_string(s.batches) + "\n";
    out += "# HELP patchzoo_model_mean_batch_size Mean images per predict call.\n# TYPE patchzoo_model_mean_batch_size gauge\n";
    for (const auto& [id, s] : models_) out += "patchzoo_model_mean_batch_size{model=\"" + id + "\"} " + number(s.mean_batch_size()) + "\n";
    out += "# HELP patchzoo_model_request_latency_ms Request latency per model, in ms.\n# TYPE patchzoo_model_request_latency_ms histogram\n";
    for (const auto& [id, s] : models_) append_histogram(out, "patchzoo_model_request_latency_ms", "model=\"" + id + "\",", s.latency);
    return out;
  }

 private:
  static std::string number(double v) {
    nlohmann::json j = v;
    return j.dump();
  }
  static void append_histogram(std::string& out, const std::string& name, const std::string& labels, const latency_histogram& h) {
    for (std::size_t b = 0; b < latency_histogram::bounds_ms.size(); ++b)
      out += name + "_bucket{" + labels + "le=\"" + number(latency_histogram::bounds_ms[b]) + "\"} " + std::to_string(h.cumulative(b)) + "\n";
    out += name + "_bucket{" + labels + "le=\"+Inf\"} " + std::to_string(h.count()) + "\n";
    const std::string bare = labels.empty() ? "" : "{" + labels.substr(0, labels.size() - 1) + "}";
    out += name + "_sum" + bare + " " + number(h.sum_ms()) + "\n";
    out += name + "_count" + bare + " " + std::to_string(h.count()) + "\n";
  }
  void count(const std::string& reason) {
    std::lock_guard lock(mutex_);
    ++rejected_[reason];
  }
  std::uint64_t counter(const std::string& reason) const {
    const auto it = rejected_.find(reason);
    return it == rejected_.end() ? 0 : it->second;
  }

  mutable std::mutex mutex_;
  std::map<std::string, model_statistics> models_;
  std::map<std::string, std::uint64_t> rejected_;
  latency_histogram all_latency_;
};

}  // namespace patchzoo::serve
