#pragma once
// The server-side configuration of a PSML defense (arXiv 2307.01292) and its one-line text form, as
// given to `patchzoo serve --defense`:
//   none
//   exponential:score=l1,epsilon=2,sensitivity=1[,accuracy-scale=1,latency-scale=100]
//   permute-and-flip:score=quantile,epsilon=1
//   noisy-spec:noise=gaussian,accuracy=0.01,latency=2,never-looser=1
// describe() writes every key of the kind, so describe(parse(text)) parses back to the same config.
#include <charconv>
#include <cmath>
#include <set>
#include <string>
#include <string_view>
#include <system_error>

#include "patchzoo/core/error.hpp"
#include "patchzoo/core/number_text.hpp"

namespace patchzoo::psml {

enum class defense_kind { none, exponential, permute_and_flip, noisy_spec };
enum class utility_score { l1, goodput, quantile };  // utility_score.hpp
enum class noise_distribution { laplace, gaussian };

struct defense_config {
  defense_kind kind = defense_kind::none;
  utility_score score = utility_score::l1;
  double epsilon = 1.0, sensitivity = 1.0;                // exponential / permute-and-flip
  double accuracy_scale = 1.0;                            // l1 score: accuracy shortfall that costs the whole half (1 = 100 points)
  double latency_scale_ms = 100.0;                        // l1 score: latency excess that costs the whole half
  noise_distribution noise = noise_distribution::laplace;  // noisy-spec
  double accuracy_noise = 0.0;     // noise scale on the requested accuracy (fraction, e.g. 0.01 = 1 point)
  double latency_noise_ms = 0.0;   // noise scale on the requested latency bound
  bool never_looser = true;        // noisy-spec: never serve a model that misses the client's own request

  bool operator==(const defense_config&) const = default;
};

inline const char* defense_kind_name(defense_kind k) {
  switch (k) {
    case defense_kind::none: return "none";
    case defense_kind::exponential: return "exponential";
    case defense_kind::permute_and_flip: return "permute-and-flip";
    case defense_kind::noisy_spec: return "noisy-spec";
  }
  return "unknown";
}

inline const char* utility_score_name(utility_score s) {
  switch (s) {
    case utility_score::l1: return "l1";
    case utility_score::goodput: return "goodput";
    case utility_score::quantile: return "quantile";
  }
  return "unknown";
}

inline const char* noise_distribution_name(noise_distribution n) {
  return n == noise_distribution::laplace ? "laplace" : "gaussian";
}

// Throws a patchzoo::error naming the first parameter that is out of range.
inline void validate(const defense_config& c) {
  auto finite_at_least = [](double v, double lo) { return std::isfinite(v) && v >= lo; };
  check(finite_at_least(c.epsilon, 0.0), "defense", "epsilon must be a finite number >= 0, got ", c.epsilon);
  check(finite_at_least(c.sensitivity, 0.0) && c.sensitivity > 0.0, "defense", "sensitivity must be a finite number > 0, got ",
        c.sensitivity);
  check(finite_at_least(c.accuracy_scale, 0.0) && c.accuracy_scale > 0.0, "defense",
        "accuracy-scale must be a finite number > 0, got ", c.accuracy_scale);
  check(finite_at_least(c.latency_scale_ms, 0.0) && c.latency_scale_ms > 0.0, "defense",
        "latency-scale must be a finite number > 0, got ", c.latency_scale_ms);
  check(finite_at_least(c.accuracy_noise, 0.0), "defense", "accuracy (noise scale) must be a finite number >= 0, got ",
        c.accuracy_noise);
  check(finite_at_least(c.latency_noise_ms, 0.0), "defense", "latency (noise scale, ms) must be a finite number >= 0, got ",
        c.latency_noise_ms);
}

namespace defense_detail {

inline double parse_number(std::string_view key, std::string_view value) {
  double out = 0.0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
  check(ec == std::errc() && end == value.data() + value.size(), "defense", "key '", key, "': expected a number, got '",
        value, "'");
  return out;
}

inline bool parse_bool(std::string_view key, std::string_view value) {
  if (value == "1" || value == "true") return true;
  if (value == "0" || value == "false") return false;
  throw error("defense: key '" + std::string(key) + "': expected 1, 0, true or false, got '" + std::string(value) + "'");
}

inline bool applies(defense_kind kind, std::string_view key) {
  static const std::set<std::string_view> ranking = {"score", "epsilon", "sensitivity", "accuracy-scale", "latency-scale"};
  static const std::set<std::string_view> noisy = {"noise", "accuracy", "latency", "never-looser"};
  if (kind == defense_kind::exponential || kind == defense_kind::permute_and_flip) return ranking.count(key) != 0;
  if (kind == defense_kind::noisy_spec) return noisy.count(key) != 0;
  return false;
}

inline void set_key(defense_config& c, std::string_view key, std::string_view value) {
  if (key == "score") {
    if (value == "l1") c.score = utility_score::l1;
    else if (value == "goodput") c.score = utility_score::goodput;
    else if (value == "quantile") c.score = utility_score::quantile;
    else throw error("defense: key 'score': expected l1, goodput or quantile, got '" + std::string(value) + "'");
  } else if (key == "epsilon") {
    c.epsilon = parse_number(key, value);
  } else if (key == "sensitivity") {
    c.sensitivity = parse_number(key, value);
  } else if (key == "accuracy-scale") {
    c.accuracy_scale = parse_number(key, value);
  } else if (key == "latency-scale") {
    c.latency_scale_ms = parse_number(key, value);
  } else if (key == "noise") {
    if (value == "laplace") c.noise = noise_distribution::laplace;
    else if (value == "gaussian") c.noise = noise_distribution::gaussian;
    else throw error("defense: key 'noise': expected laplace or gaussian, got '" + std::string(value) + "'");
  } else if (key == "accuracy") {
    c.accuracy_noise = parse_number(key, value);
  } else if (key == "latency") {
    c.latency_noise_ms = parse_number(key, value);
  } else if (key == "never-looser") {
    c.never_looser = parse_bool(key, value);
  }
}

}  // namespace defense_detail

// "<kind>[:key=value,...]". Errors name the bad kind, key or value.
inline defense_config parse_defense_config(std::string_view spec) {
  const std::size_t colon = spec.find(':');
  const std::string_view kind = spec.substr(0, colon);
  defense_config c;
  if (kind == "none") c.kind = defense_kind::none;
  else if (kind == "exponential") c.kind = defense_kind::exponential;
  else if (kind == "permute-and-flip") c.kind = defense_kind::permute_and_flip;
  else if (kind == "noisy-spec") c.kind = defense_kind::noisy_spec;
  else
    throw error("defense: unknown mechanism '" + std::string(kind) +
                "'; expected none, exponential, permute-and-flip or noisy-spec");
  if (colon == std::string_view::npos) return c;

  std::string_view rest = spec.substr(colon + 1);
  check(!rest.empty(), "defense", "'", spec, "' ends with ':' but gives no key=value");
  std::set<std::string_view> seen;
  while (true) {
    const std::size_t comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    const std::size_t eq = item.find('=');
    check(eq != std::string_view::npos && eq > 0, "defense", "expected key=value, got '", item, "'");
    const std::string_view key = item.substr(0, eq), value = item.substr(eq + 1);
    check(defense_detail::applies(c.kind, key), "defense", "key '", key, "' does not apply to ", defense_kind_name(c.kind));
    check(seen.insert(key).second, "defense", "key '", key, "' given twice");
    check(!value.empty(), "defense", "key '", key, "' has no value");
    defense_detail::set_key(c, key, value);
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  validate(c);
  return c;
}

inline std::string describe(const defense_config& c) {
  std::string out = defense_kind_name(c.kind);
  if (c.kind == defense_kind::exponential || c.kind == defense_kind::permute_and_flip)
    out += std::string(":score=") + utility_score_name(c.score) + ",epsilon=" + shortest_text(c.epsilon) +
           ",sensitivity=" + shortest_text(c.sensitivity) + ",accuracy-scale=" + shortest_text(c.accuracy_scale) +
           ",latency-scale=" + shortest_text(c.latency_scale_ms);
  else if (c.kind == defense_kind::noisy_spec)
    out += std::string(":noise=") + noise_distribution_name(c.noise) + ",accuracy=" + shortest_text(c.accuracy_noise) +
           ",latency=" + shortest_text(c.latency_noise_ms) + ",never-looser=" + (c.never_looser ? "1" : "0");
  return out;
}

}  // namespace patchzoo::psml
