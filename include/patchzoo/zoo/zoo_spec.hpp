#pragma once
// The Fashion-MNIST zoo: which models it holds (stable ids m0..m7), and how each one is trained.
// The points are meant to spread over accuracy and latency, with m7 deliberately dominated: a very
// wide one-hidden-layer MLP trained briefly that costs more than the small CNN without beating it.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "patchzoo/zoo/architecture.hpp"

namespace patchzoo::zoo {

struct training_config {
  double epochs = 1;        // scaled by --epochs-scale; fractional epochs are allowed
  std::int64_t batch = 128;
  double lr = 1e-3;         // peak of warmup + cosine
  double weight_decay = 1e-4;
};

struct zoo_entry {
  std::string id;
  std::string name;
  architecture spec;
  training_config train;
};

inline sequential_spec mlp(const std::vector<std::int64_t>& hidden) {
  sequential_spec s{{layer_spec::flatten()}};
  for (const auto h : hidden) {
    s.layers.push_back(layer_spec::linear(h));
    s.layers.push_back(layer_spec::gelu());
  }
  s.layers.push_back(layer_spec::linear(class_count));
  return s;
}

inline std::vector<zoo_entry> fashion_mnist_zoo() {
  using L = layer_spec;
  const sequential_spec small_cnn{{L::conv2d(8, 5, 2), L::gelu(), L::maxpool2d(2), L::flatten(), L::linear(class_count)}};
  const sequential_spec cnn{{L::conv2d(16, 3, 1), L::gelu(), L::maxpool2d(2), L::conv2d(32, 3, 1), L::gelu(),
                             L::maxpool2d(2), L::flatten(), L::linear(128), L::gelu(), L::linear(class_count)}};
  return {
      {"m0", "softmax-regression", mlp({}), {3, 128, 3e-3, 0.0}},
      {"m1", "mlp-32", mlp({32}), {10, 128, 2e-3, 1e-4}},
      {"m2", "mlp-128", mlp({128}), {10, 128, 2e-3, 1e-4}},
      {"m3", "mlp-256-256", mlp({256, 256}), {8, 128, 1e-3, 1e-4}},
      {"m4", "cnn-8c5", small_cnn, {10, 128, 3e-3, 1e-4}},
      {"m5", "cnn-16c3-32c3-fc128", cnn, {6, 128, 2e-3, 1e-4}},
      {"m6", "vit-p4-d32-l2", vit_spec{4, 32, 2, 64, 2}, {6, 128, 2e-3, 1e-4}},
      {"m7", "mlp-2048-wide", mlp({2048}), {1, 128, 5e-4, 1e-4}},
  };
}

}  // namespace patchzoo::zoo
