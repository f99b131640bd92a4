#pragma once
// Zoo directories of untrained models for the tests: write_untrained_zoo() writes the weights of each
// entry's architecture (seeded) and a zoo.json with the entry's made-up profile; write_small_zoo() is the
// model_zoo tests' zoo (an MLP, a CNN and a ViT with ids a, b, c); zoo_images() gives seeded images.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "patchzoo/backend/eigen/eigen_backend.hpp"
#include "patchzoo/zoo/manifest.hpp"
#include "patchzoo/zoo/weights.hpp"
#include "patchzoo/zoo/zoo_spec.hpp"
#include "support/random.hpp"

namespace patchzoo::test {

inline tensor<float> zoo_images(std::int64_t n, std::uint64_t seed) {
  return random_tensor<float>(shape_t{n, 1, zoo::image_side, zoo::image_side}, seed, 0.0, 1.0);
}

struct untrained_model {
  std::string id;
  zoo::architecture spec;
  double accuracy, latency_p50_ms, latency_p99_ms;
};

// Model k is initialised with seed first_seed + k; test_accuracy is the profiled accuracy.
inline zoo::manifest write_untrained_zoo(const std::filesystem::path& dir, const std::vector<untrained_model>& models,
                                         std::uint64_t first_seed) {
  using namespace patchzoo::zoo;
  eigen_backend be;
  manifest m;
  m.seed = 1;
  m.profiling_split = "test";
  m.profiling_images = 10;
  m.machine = "test";
  m.latency_runs = 1;
  for (std::size_t k = 0; k < models.size(); ++k) {
    const untrained_model& u = models[k];
    auto model = make_classifier<eigen_backend, float>(u.spec, first_seed + k);
    save_weights(be, dir / (u.id + ".safetensors"), *model, u.id);
    manifest_model e;
    e.profile = {u.id, "model-" + u.id, u.accuracy, u.latency_p50_ms, u.latency_p99_ms, model->parameter_count(), model->flops()};
    e.test_accuracy = u.accuracy;
    e.architecture = to_json(u.spec);
    e.weights = u.id + ".safetensors";
    m.models.push_back(e);
  }
  write_manifest(dir / manifest_file_name, m);
  return m;
}

inline void write_small_zoo(const std::filesystem::path& dir) {
  using namespace patchzoo::zoo;
  using L = layer_spec;
  write_untrained_zoo(dir,
                      {{"a", mlp({16}), 0.5, 0.1, 0.2},
                       {"b", sequential_spec{{L::conv2d(4, 3, 1), L::gelu(), L::maxpool2d(2), L::flatten(), L::linear(10)}}, 0.6, 0.2, 0.4},
                       {"c", vit_spec{4, 16, 2, 32, 1}, 0.7, 0.3, 0.6}},
                      40);
}

}  // namespace patchzoo::test
