// Fuzzes zoo::load_weights (zoo/weights.hpp): the architecture JSON in the metadata is parsed and the
// classifier it names is built, then every tensor is checked against it. Seeds are real weight files of
// small models of each kind (MLP, CNN, ViT).
#include <cstdint>

#include "patchzoo/backend/eigen/eigen_backend.hpp"
#include "patchzoo/zoo/weights.hpp"
#include "patchzoo/zoo/zoo_spec.hpp"
#include "fuzz/fuzz_support.hpp"

using namespace patchzoo;

void fuzz_one(std::span<const std::uint8_t> input) {
  eigen_backend be;
  (void)zoo::load_weights<eigen_backend, float>(be, scratch_file(".safetensors").write(input));
}

void write_seeds(const seed_writer& out) {
  eigen_backend be;
  using L = zoo::layer_spec;
  const std::pair<const char*, zoo::architecture> specs[] = {
      {"mlp", zoo::mlp({4})},
      {"cnn", zoo::sequential_spec{{L::conv2d(2, 3, 1), L::gelu(), L::maxpool2d(2), L::flatten(), L::linear(10)}}},
      {"vit", zoo::vit_spec{7, 8, 1, 8, 1}}};
  for (const auto& [name, spec] : specs) {
    const auto model = zoo::make_classifier<eigen_backend, float>(spec, 1);
    zoo::save_weights(be, out.path(std::string(name) + ".safetensors"), *model, name);
  }
}
