#pragma once
// The evaluation classifier: penultimate-layer features and class probabilities of one zoo model,
// computed in batches. FID-FMNIST, IS, precision/recall and class accuracy all read this model, the
// zoo's most accurate CNN (ViTs and MLPs are not candidates), always on the eigen backend: the metrics
// of a sample set do not depend on which backend produced it.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>
#include <variant>

#include "patchzoo/backend/eigen/eigen_backend.hpp"
#include "patchzoo/zoo/manifest.hpp"
#include "patchzoo/zoo/model_zoo.hpp"

namespace patchzoo::eval {

// Index, in manifest (= model_zoo) order, of the CNN with the highest profiling accuracy: a sequential
// network with at least one conv2d layer. Ties go to the earlier model.
inline std::size_t most_accurate_cnn(const zoo::manifest& m) {
  std::size_t best = m.models.size();
  for (std::size_t i = 0; i < m.models.size(); ++i) {
    const auto spec = zoo::architecture_from_json(m.models[i].architecture);
    const auto* seq = std::get_if<zoo::sequential_spec>(&spec);
    if (seq == nullptr) continue;
    const bool convolutional = std::any_of(seq->layers.begin(), seq->layers.end(),
                                           [](const zoo::layer_spec& l) { return l.kind == zoo::layer_kind::conv2d; });
    if (convolutional && (best == m.models.size() || m.models[i].profile.accuracy > m.models[best].profile.accuracy))
      best = i;
  }
  check(best < m.models.size(), "most_accurate_cnn", "the zoo has no convolutional model (", m.models.size(),
        " models)");
  return best;
}

class zoo_features {
 public:
  // Loads the zoo in `dir` and picks its most accurate CNN.
  static zoo_features load(const std::filesystem::path& dir, std::int64_t batch = 250) {
    const auto index = most_accurate_cnn(zoo::read_manifest(dir / zoo::manifest_file_name));
    return zoo_features(zoo::model_zoo<eigen_backend>::load(dir), index, batch);
  }

  zoo_features(zoo::model_zoo<eigen_backend> zoo, std::size_t model_index, std::int64_t batch = 250)
      : zoo_(std::move(zoo)), index_(model_index), batch_(batch) {
    check(model_index < zoo_.size(), "zoo_features", "model index ", model_index, " is out of range [0, ",
          zoo_.size(), ")");
    check(batch >= 1, "zoo_features", "batch must be positive, got ", batch);
  }

  const psml::model_profile& profile() const { return zoo_.profiles()[index_]; }

  // images [N, 1, 28, 28] in [0, 1] -> penultimate-layer features [N, F].
  tensor<float> features(const tensor<float>& images) const {
    return batched(images, [&](const tensor<float>& b) { return zoo_.features(index_, b); });
  }
  // images [N, 1, 28, 28] in [0, 1] -> class probabilities [N, 10].
  tensor<float> probabilities(const tensor<float>& images) const {
    return batched(images, [&](const tensor<float>& b) { return zoo_.predict(index_, b); });
  }

 private:
  template <class Run>
  tensor<float> batched(const tensor<float>& images, Run&& run) const {
    check(images.rank() == 4 && images.dim(1) == 1 && images.dim(2) == zoo::image_side &&
              images.dim(3) == zoo::image_side && images.dim(0) >= 1,
          "zoo_features", "images must be [N, 1, 28, 28] with N >= 1, got ", images.shape().str());
    const std::int64_t n = images.dim(0), pixels = zoo::image_side * zoo::image_side;
    tensor<float> out;
    for (std::int64_t begin = 0; begin < n; begin += batch_) {
      const std::int64_t count = std::min(batch_, n - begin);
      tensor<float> part(shape_t{count, 1, zoo::image_side, zoo::image_side});
      std::memcpy(part.data(), images.data() + begin * pixels, static_cast<std::size_t>(count * pixels) * sizeof(float));
      const auto result = run(part);
      const std::int64_t width = result.dim(1);
      if (begin == 0) out = tensor<float>(shape_t{n, width});
      std::memcpy(out.data() + begin * width, result.data(), result.bytes());
    }
    return out;
  }

  zoo::model_zoo<eigen_backend> zoo_;
  std::size_t index_;
  std::int64_t batch_;
};

}  // namespace patchzoo::eval
