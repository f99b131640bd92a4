#pragma once
// The final result of a command-line subcommand: with --json exactly one JSON object on stdout (and
// nothing else there), otherwise one "key: value" line per metric, nested keys joined with dots.
#include <iostream>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

namespace patchzoo {

namespace report_detail {
inline void append_text(std::string& out, const std::string& prefix, const nlohmann::ordered_json& value) {
  if (value.is_object() && !value.empty()) {
    for (const auto& [key, child] : value.items()) append_text(out, prefix.empty() ? key : prefix + "." + key, child);
    return;
  }
  out += prefix + ": " + (value.is_string() ? value.get<std::string>() : value.dump()) + "\n";
}
}  // namespace report_detail

// Human-readable rendering: strings unquoted, numbers, booleans and arrays as compact JSON.
inline std::string format_report_text(const nlohmann::ordered_json& metrics) {
  std::string out;
  if (metrics.is_object())
    for (const auto& [key, child] : metrics.items()) report_detail::append_text(out, key, child);
  else report_detail::append_text(out, "value", metrics);
  return out;
}

class report {
 public:
  // Keys keep the order they were first set in, so the text and JSON forms read the same way.
  nlohmann::ordered_json& operator[](const std::string& key) { return metrics_[key]; }
  const nlohmann::ordered_json& metrics() const { return metrics_; }

  void emit(bool as_json, std::ostream& out = std::cout) const {
    if (as_json) out << metrics_.dump() << "\n";
    else out << format_report_text(metrics_);
    out.flush();
  }

 private:
  nlohmann::ordered_json metrics_ = nlohmann::ordered_json::object();
};

}  // namespace patchzoo
