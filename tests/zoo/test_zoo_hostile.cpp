// Hostile zoo weights files and manifests (issue 16). A 150-byte weights file whose metadata declared
// `linear out = 2^22` made serve allocate 24 GB before looking at a tensor: the architecture is now checked
// against the file's tensors first. Manifests nested 100k deep, with numbers nlohmann cannot hold, or with
// integers that used to be truncated to int, give errors naming the file and the field.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "patchzoo/backend/eigen/eigen_backend.hpp"
#include "patchzoo/zoo/manifest.hpp"
#include "patchzoo/zoo/weights.hpp"
#include "support/temp_dir.hpp"

using namespace patchzoo;
using namespace patchzoo::zoo;

namespace {

// A weights file holding `tensors` (names with tiny shapes) and the given architecture metadata text.
void write_weights(const std::filesystem::path& p, const std::string& architecture_text,
                   const std::vector<std::string>& tensors = {}) {
  tensor<float> one(shape_t{1}, {0.5f});
  safetensors_writer w;
  for (const auto& name : tensors) w.add(name, one.view());
  w.add_metadata("format", weights_format_tag);
  w.add_metadata("architecture", architecture_text);
  w.write(p);
}

// The load_weights error for `p`; also checks it names the file and came quickly (nothing big allocated).
std::string load_error(const std::filesystem::path& p) {
  eigen_backend be;
  const auto start = std::chrono::steady_clock::now();
  std::string msg;
  try {
    load_weights<eigen_backend, float>(be, p);
  } catch (const patchzoo::error& e) {
    msg = e.what();
  }
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
  CHECK(msg.find(p.string()) != std::string::npos);
  return msg;
}

std::string mlp_text(const std::string& hidden_out) {
  return R"({"kind":"sequential","layers":[{"type":"flatten"},{"type":"linear","out":)" + hidden_out +
         R"(},{"type":"linear","out":10}]})";
}

// A valid zoo.json with one CNN model; tests replace parts of it.
nlohmann::json good_manifest() {
  return nlohmann::json::parse(R"({
    "format": "patchzoo-zoo-1", "dataset": "fashion-mnist", "seed": 1, "profiling_split": "test",
    "profiling_images": 10, "machine": "test", "latency_runs": 1,
    "models": [{"id": "a", "name": "A", "accuracy": 0.5, "test_accuracy": 0.5, "latency_p50_ms": 1,
                "latency_p99_ms": 2, "parameters": 100, "flops": 100, "weights": "a.safetensors",
                "architecture": {"kind": "sequential", "layers": [
                    {"type": "conv2d", "out": 4, "kernel": 3, "stride": 1, "padding": 1},
                    {"type": "flatten"}, {"type": "linear", "out": 10}]}}]})");
}

std::string manifest_error(const std::string& text) {
  temp_dir dir("zoo_hostile");
  const auto p = dir / "zoo.json";
  write_file_bytes(p, text);
  std::string msg;
  try {
    read_manifest(p);
  } catch (const patchzoo::error& e) {
    msg = e.what();
  }
  CHECK(msg.find(p.string()) != std::string::npos);
  return msg;
}

}  // namespace

TEST_CASE("weights: a tiny file declaring linear out = 2^22 fails fast, before the model is allocated") {
  temp_dir dir("zoo_hostile");
  const auto p = dir / "claims_24gb.safetensors";
  write_weights(p, mlp_text("4194304"));
  CHECK(std::filesystem::file_size(p) < 256);
  CHECK(load_error(p).find("claims_24gb.safetensors holds 0 tensors, the architecture has 4 parameters") !=
        std::string::npos);

  // With the right tensor names but tiny shapes, the shapes the architecture implies are checked first.
  write_weights(p, mlp_text("4194304"), {"layers.1.weight", "layers.1.bias", "layers.3.weight", "layers.3.bias"});
  CHECK(load_error(p).find("tensor 'layers.1.bias': shape mismatch: expected [4194304] (destination), found [1] (file)") !=
        std::string::npos);
}

TEST_CASE("weights: architecture metadata whose sizes wrap, nest or exceed limits names the file and field") {
  temp_dir dir("zoo_hostile");
  const auto p = dir / "hostile.safetensors";
  write_weights(p, mlp_text("4611686018427387904"));
  auto msg = load_error(p);
  CHECK(msg.find("hostile.safetensors: metadata 'architecture': param_layout: parameter 'layers.1.weight' of shape "
                 "[4611686018427387904, 784]: has too many elements") != std::string::npos);

  write_weights(p, std::string(100000, '[') + std::string(100000, ']'));
  CHECK(load_error(p).find("metadata 'architecture': JSON nested deeper than 64 levels") != std::string::npos);

  write_weights(p, R"({"kind":"vit","patch":4,"dim":16,"heads":2,"ffn_hidden":32,"layers":1099511627776})");
  CHECK(load_error(p).find("architecture: vit field 'layers' must be an integer in [1, 1024], found 1099511627776") !=
        std::string::npos);

  write_weights(p, R"({"kind":"vit","patch":4,"dim":4000000000,"heads":1,"ffn_hidden":1,"layers":1})");
  CHECK(load_error(p).find("architecture: ViT dim: 12000000000 x 4000000000 overflows 64-bit size arithmetic") !=
        std::string::npos);

  write_weights(p, R"({"kind":"sequential","layers":[{"type":"conv2d","out":4,"kernel":3.7,"stride":1,"padding":1}]})");
  CHECK(load_error(p).find("layer 0 field 'kernel' has the wrong type: expected an integer, found 3.7") !=
        std::string::npos);
}

TEST_CASE("zoo manifest: 100k nested arrays and 1e400 are errors naming the file") {
  auto text = good_manifest().dump();
  CHECK(manifest_error(text.substr(0, text.size() - 1) + R"(,"extra":)" + std::string(100000, '[') +
                       std::string(100000, ']') + "}")
            .find(": JSON nested deeper than 64 levels") != std::string::npos);
  const auto at = text.find(R"("accuracy":0.5)");
  REQUIRE(at != std::string::npos);
  text.replace(at, 14, R"("accuracy":1e400)");
  const auto msg = manifest_error(text);
  CHECK(msg.find("zoo manifest: ") != std::string::npos);
  CHECK(msg.find("number overflow parsing '1e400'") != std::string::npos);
}

TEST_CASE("zoo manifest: integers are read as int64 with range checks, never truncated") {
  auto m = good_manifest();
  auto& layer = m["models"][0]["architecture"]["layers"][0];

  layer["padding"] = 2000000000;
  CHECK(manifest_error(m.dump())
            .find("model 0 ('a') field 'architecture': architecture: layer 0 (conv2d) has out 4, kernel 3, stride 1, "
                  "padding 2000000000 (needs out, kernel, stride > 0 and 0 <= padding < kernel)") != std::string::npos);
  layer["padding"] = std::int64_t{1} << 32;  // get<int>() read this as 0
  CHECK(manifest_error(m.dump())
            .find("architecture: layer 0 field 'padding' must be an integer in [0, 2147483647], found 4294967296") !=
        std::string::npos);
  layer["padding"] = 1;

  layer["out"] = -4;
  CHECK(manifest_error(m.dump()).find("layer 0 field 'out' must be an integer in [1, 9223372036854775807], found -4") !=
        std::string::npos);
  layer["out"] = 4;

  m["models"][0]["parameters"] = ~std::uint64_t(0);
  CHECK(manifest_error(m.dump())
            .find("model 0 ('a') field 'parameters' must be an integer in [0, 9223372036854775807], found "
                  "18446744073709551615") != std::string::npos);
  m["models"][0]["parameters"] = 100;

  m["seed"] = -1;
  CHECK(manifest_error(m.dump()).find("the zoo field 'seed' must be an integer in [0, 18446744073709551615], found -1") !=
        std::string::npos);
  m["seed"] = 1;

  m["latency_runs"] = 1.5;
  CHECK(manifest_error(m.dump()).find("the zoo field 'latency_runs' has the wrong type: expected an integer, found 1.5") !=
        std::string::npos);
  m["latency_runs"] = 1;

  m["models"] = nlohmann::json::array({nlohmann::json::array({1})});
  CHECK(manifest_error(m.dump()).find("model 0 must be a JSON object, found an array of 1 elements") != std::string::npos);
}

TEST_CASE("zoo manifest: the unmodified test manifest is accepted") {
  temp_dir dir("zoo_hostile");
  write_file_bytes(dir / "zoo.json", good_manifest().dump());
  CHECK(read_manifest(dir / "zoo.json").models.at(0).profile.parameters == 100);
}
