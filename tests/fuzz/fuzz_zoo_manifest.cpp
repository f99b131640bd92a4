// Fuzzes zoo::read_manifest (zoo/manifest.hpp): zoo.json's JSON, every field's type and range, and each
// model's architecture (architecture_from_json). Seeds are manifests the library writes.
#include "patchzoo/zoo/manifest.hpp"
#include "patchzoo/zoo/zoo_spec.hpp"
#include "fuzz/fuzz_support.hpp"

using namespace patchzoo;

void fuzz_one(std::span<const std::uint8_t> input) {
  const auto m = zoo::read_manifest(scratch_file(".json").write(input));
  (void)zoo::to_json(m).dump();  // what the server would write back must be representable
}

void write_seeds(const seed_writer& out) {
  using L = zoo::layer_spec;
  const std::pair<const char*, zoo::architecture> specs[] = {
      {"mlp", zoo::mlp({16, 8})},
      {"cnn", zoo::sequential_spec{{L::conv2d(4, 3, 1), L::gelu(), L::maxpool2d(2), L::flatten(), L::linear(10)}}},
      {"vit", zoo::vit_spec{4, 16, 2, 32, 1}}};
  zoo::manifest m;
  m.seed = 1;
  m.profiling_split = "the last 10 training images";
  m.profiling_images = 10;
  m.machine = "seed";
  m.latency_runs = 3;
  int k = 0;
  for (const auto& [name, spec] : specs) {
    zoo::manifest_model e;
    e.profile = {name, std::string("model-") + name, 0.5 + 0.1 * k, 0.1 * (k + 1), 0.2 * (k + 1), 1000 + k, 5000 + k};
    e.test_accuracy = 0.5;
    e.architecture = zoo::to_json(spec);
    e.weights = std::string(name) + ".safetensors";
    m.models.push_back(e);
    ++k;
  }
  zoo::write_manifest(out.path("three_models.json"), m);
  m.models.resize(1);
  zoo::write_manifest(out.path("one_model.json"), m);
}
