// The evaluation classifier: the most accurate CNN of a manifest (never a ViT or an MLP), and batched
// features / probabilities equal to one whole-set pass.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

#include "patchzoo/eval/sample_metrics.hpp"
#include "patchzoo/zoo/zoo_spec.hpp"
#include "support/random.hpp"
#include "support/small_zoo.hpp"
#include "support/temp_dir.hpp"

using namespace patchzoo;
using namespace patchzoo::zoo;
namespace fs = std::filesystem;

namespace {

sequential_spec small_cnn(std::int64_t channels) {
  using L = layer_spec;
  return {{L::conv2d(channels, 3, 1), L::gelu(), L::maxpool2d(2), L::flatten(), L::linear(12), L::gelu(), L::linear(10)}};
}

// Untrained models with made-up accuracies: the ViT and the MLP are the most accurate, the second CNN
// is the best CNN.
manifest write_zoo(const fs::path& dir) {
  return test::write_untrained_zoo(dir,
                                   {{"mlp", mlp({16}), 0.95, 0.1, 0.2},
                                    {"cnn_a", small_cnn(2), 0.80, 0.1, 0.2},
                                    {"vit", vit_spec{4, 16, 2, 32, 1}, 0.99, 0.1, 0.2},
                                    {"cnn_b", small_cnn(3), 0.85, 0.1, 0.2},
                                    {"cnn_c", small_cnn(2), 0.70, 0.1, 0.2}},
                                   60);
}

}  // namespace

TEST_CASE("most_accurate_cnn skips ViTs and MLPs however accurate") {
  temp_dir dir("eval_pick");
  auto m = write_zoo(dir.path);
  CHECK(eval::most_accurate_cnn(m) == 3);
  m.models[4].profile.accuracy = 0.9;
  CHECK(eval::most_accurate_cnn(m) == 4);
  manifest no_cnn;
  no_cnn.models = {m.models[0], m.models[2]};
  CHECK_THROWS_WITH_AS(eval::most_accurate_cnn(no_cnn), doctest::Contains("no convolutional model"), error);
}

TEST_CASE("zoo_features: the chosen model's penultimate features and probabilities, batched") {
  temp_dir dir("eval_features");
  write_zoo(dir.path);
  const auto images = test::random_tensor<float>(shape_t{7, 1, image_side, image_side}, 3, 0.0, 1.0);
  const auto small_batches = eval::zoo_features::load(dir.path, 3);
  CHECK(small_batches.profile().id == "cnn_b");
  const auto features = small_batches.features(images);
  REQUIRE(features.shape() == shape_t{7, 12});
  const auto probabilities = small_batches.probabilities(images);
  REQUIRE(probabilities.shape() == shape_t{7, 10});

  // one pass over all seven images through the zoo itself gives the same numbers
  const auto zoo = model_zoo<eigen_backend>::load(dir.path);
  const auto whole = zoo.features(3, images);
  const auto whole_p = zoo.predict(3, images);
  for (std::int64_t i = 0; i < features.numel(); ++i) CHECK(features[i] == doctest::Approx(whole[i]).epsilon(1e-6));
  for (std::int64_t i = 0; i < 7; ++i) {
    double sum = 0;
    for (std::int64_t k = 0; k < 10; ++k) {
      CHECK(probabilities[i * 10 + k] == doctest::Approx(whole_p[i * 10 + k]).epsilon(1e-6));
      sum += probabilities[i * 10 + k];
    }
    CHECK(sum == doctest::Approx(1.0).epsilon(1e-5));
  }
  // features differ between images (not a constant)
  bool varies = false;
  for (std::int64_t j = 0; j < 12; ++j) varies |= features[j] != features[12 + j];
  CHECK(varies);
  CHECK_THROWS_WITH_AS(small_batches.features(tensor<float>(shape_t{2, 1, 27, 28})), doctest::Contains("[N, 1, 28, 28]"),
                       error);
}

TEST_CASE("evaluate_samples: real images scored against themselves, and against noise") {
  temp_dir dir("eval_samples");
  write_zoo(dir.path);
  const auto classifier = eval::zoo_features::load(dir.path);
  // "real" images: smooth blobs; "generated" noise: uniform pixels
  tensor<float> real(shape_t{40, 1, image_side, image_side});
  for (std::int64_t i = 0; i < 40; ++i)
    for (std::int64_t y = 0; y < image_side; ++y)
      for (std::int64_t x = 0; x < image_side; ++x) {
        const double cx = 8 + (i % 7) * 2, cy = 8 + (i % 5) * 3;
        real[(i * image_side + y) * image_side + x] = static_cast<float>(std::exp(-((x - cx) * (x - cx) + (y - cy) * (y - cy)) / 30.0));
      }
  const auto reference = eval::make_reference_set(classifier, real);
  std::vector<std::int32_t> labels(40);
  const auto probabilities = classifier.probabilities(real);
  for (std::int64_t i = 0; i < 40; ++i) {
    std::int32_t best = 0;
    for (std::int32_t k = 1; k < 10; ++k)
      if (probabilities[i * 10 + k] > probabilities[i * 10 + best]) best = k;
    labels[i] = best;
  }
  const auto same = eval::evaluate_samples(classifier, reference, real, labels);
  CHECK(same.samples == 40);
  CHECK(std::abs(same.fid) < 1e-6);
  CHECK(same.precision == 1.0);
  CHECK(same.recall == 1.0);
  CHECK(same.class_accuracy == 1.0);
  CHECK(same.inception_score >= 1.0);
  const auto noise = test::random_tensor<float>(shape_t{40, 1, image_side, image_side}, 9, 0.0, 1.0);
  const auto other = eval::evaluate_samples(classifier, reference, noise, labels);
  CHECK(other.fid > 1e-3);
  CHECK(other.precision < 0.5);
}
