#pragma once
// zoo.json: the zoo's description that the server reads. Zoo-level fields name the data and the
// profiling split; one entry per model holds its model_profile, architecture and weights file.
// Reading validates every field and names the file, the model and the field on any error.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "patchzoo/io/atomic_file.hpp"
#include "patchzoo/io/json_fields.hpp"
#include "patchzoo/io/json_limits.hpp"
#include "patchzoo/psml/model_profile.hpp"
#include "patchzoo/zoo/architecture.hpp"

namespace patchzoo::zoo {

inline constexpr const char* manifest_format_tag = "patchzoo-zoo-1";
inline constexpr const char* manifest_file_name = "zoo.json";

struct manifest_model {
  psml::model_profile profile;
  double test_accuracy = 0;
  nlohmann::json architecture;  // as in architecture.hpp's to_json
  std::string weights;          // file name relative to the zoo directory
};

struct manifest {
  std::string dataset = "fashion-mnist";
  std::uint64_t seed = 0;
  std::string profiling_split;  // how the profiling images were chosen, in words
  std::int64_t profiling_images = 0;
  std::string machine;          // where the latencies were measured
  std::int64_t latency_runs = 0;
  std::vector<manifest_model> models;
};

inline nlohmann::ordered_json to_json(const manifest& m) {
  nlohmann::ordered_json models = nlohmann::ordered_json::array();
  for (const auto& e : m.models) {
    const auto& p = e.profile;
    models.push_back({{"id", p.id},
                      {"name", p.name},
                      {"accuracy", p.accuracy},
                      {"test_accuracy", e.test_accuracy},
                      {"latency_p50_ms", p.latency_p50_ms},
                      {"latency_p99_ms", p.latency_p99_ms},
                      {"parameters", p.parameters},
                      {"flops", p.flops},
                      {"architecture", e.architecture},
                      {"weights", e.weights}});
  }
  return {{"format", manifest_format_tag},     {"dataset", m.dataset},
          {"seed", m.seed},                    {"profiling_split", m.profiling_split},
          {"profiling_images", m.profiling_images}, {"machine", m.machine},
          {"latency_runs", m.latency_runs},    {"models", models}};
}

inline void write_manifest(const std::filesystem::path& path, const manifest& m) {
  const auto text = to_json(m).dump(2) + "\n";
  write_file_atomically(path, [&](file_sink& sink) { sink.write(text.data(), text.size()); });
}

namespace manifest_detail {

template <class V>
V field(const std::filesystem::path& path, const nlohmann::json& j, const char* key, const std::string& where) {
  return json_field<V>(j, key, "zoo manifest: " + path.string() + ": " + where);
}

// A count or size: an integer >= 0 (a negative value would otherwise read as a huge unsigned one).
inline std::int64_t count_field(const std::filesystem::path& path, const nlohmann::json& j, const char* key,
                                const std::string& where) {
  return json_int_field<std::int64_t>(j, key, "zoo manifest: " + path.string() + ": " + where, 0);
}

}  // namespace manifest_detail

inline manifest read_manifest(const std::filesystem::path& path) {
  using manifest_detail::count_field;
  using manifest_detail::field;
  std::ifstream in(path, std::ios::binary);
  check(static_cast<bool>(in), "zoo manifest", "cannot open ", path.string());
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const nlohmann::json j = parse_json_limited(text, "zoo manifest: " + path.string());
  const auto format = field<std::string>(path, j, "format", "the zoo");
  check(format == manifest_format_tag, "zoo manifest", path.string(), ": format is '", format, "', expected '",
        manifest_format_tag, "'");
  manifest m;
  m.dataset = field<std::string>(path, j, "dataset", "the zoo");
  m.seed = field<std::uint64_t>(path, j, "seed", "the zoo");
  m.profiling_split = field<std::string>(path, j, "profiling_split", "the zoo");
  m.profiling_images = count_field(path, j, "profiling_images", "the zoo");
  m.machine = field<std::string>(path, j, "machine", "the zoo");
  m.latency_runs = count_field(path, j, "latency_runs", "the zoo");
  const auto& models = json_member(j, "models", "zoo manifest: " + path.string() + ": the zoo");
  check(models.is_array() && !models.empty(), "zoo manifest", path.string(), ": 'models' must be a non-empty array, found ",
        describe_json_value(models));
  for (std::size_t i = 0; i < models.size(); ++i) {
    const auto& mj = models[i];
    std::string where = "model " + std::to_string(i);
    manifest_model e;
    auto& p = e.profile;
    p.id = field<std::string>(path, mj, "id", where);
    where += " ('" + p.id + "')";
    for (const auto& other : m.models)
      check(other.profile.id != p.id, "zoo manifest", path.string(), ": ", where, " repeats the id of an earlier model");
    p.name = field<std::string>(path, mj, "name", where);
    p.accuracy = field<double>(path, mj, "accuracy", where);
    e.test_accuracy = field<double>(path, mj, "test_accuracy", where);
    p.latency_p50_ms = field<double>(path, mj, "latency_p50_ms", where);
    p.latency_p99_ms = field<double>(path, mj, "latency_p99_ms", where);
    p.parameters = count_field(path, mj, "parameters", where);
    p.flops = count_field(path, mj, "flops", where);
    e.architecture = field<nlohmann::json>(path, mj, "architecture", where);
    e.weights = field<std::string>(path, mj, "weights", where);
    check(p.accuracy >= 0 && p.accuracy <= 1 && e.test_accuracy >= 0 && e.test_accuracy <= 1, "zoo manifest",
          path.string(), ": ", where, " accuracies must lie in [0, 1], got ", p.accuracy, " and ", e.test_accuracy);
    check(p.latency_p50_ms > 0 && p.latency_p99_ms >= p.latency_p50_ms, "zoo manifest", path.string(), ": ", where,
          " needs 0 < latency_p50_ms <= latency_p99_ms, got ", p.latency_p50_ms, " and ", p.latency_p99_ms);
    check(!e.weights.empty() && std::filesystem::path(e.weights).filename() == e.weights, "zoo manifest",
          path.string(), ": ", where, " field 'weights' must be a plain file name, got '", e.weights, "'");
    try {
      architecture_from_json(e.architecture);
    } catch (const error& err) {
      throw error("zoo manifest: " + path.string() + ": " + where + " field 'architecture': " + err.what());
    }
    m.models.push_back(std::move(e));
  }
  return m;
}

}  // namespace patchzoo::zoo
