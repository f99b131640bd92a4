#pragma once
// The server-side request log: one JSON object per line, appended and flushed per request. It holds
// the ground truth clients never see (which model served, the feasible set) for later evaluation.
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "patchzoo/core/error.hpp"

namespace patchzoo::serve {

// UTC wall-clock time as ISO 8601 with milliseconds, e.g. 2026-01-31T12:00:00.123Z.
inline std::string utc_timestamp(std::chrono::system_clock::time_point t = std::chrono::system_clock::now()) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  const std::size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(text + n, sizeof text - n, ".%03dZ", static_cast<int>(ms % 1000));
  return text;
}

class request_log {
 public:
  request_log() = default;  // disabled: write() does nothing
  explicit request_log(const std::filesystem::path& path) : out_(path, std::ios::app) {
    check(static_cast<bool>(out_), "request_log", "cannot open '", path.string(), "' for appending");
    enabled_ = true;
  }
  bool enabled() const { return enabled_; }

  void write(const nlohmann::ordered_json& entry) {
    if (!enabled_) return;
    // Client text in error messages may hold invalid UTF-8; it is replaced rather than allowed to throw.
    const std::string line = entry.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    std::lock_guard lock(mutex_);
    out_ << line;
    out_.flush();
  }

 private:
  std::ofstream out_;
  bool enabled_ = false;
  std::mutex mutex_;
};

}  // namespace patchzoo::serve
