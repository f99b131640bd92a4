#pragma once
// All metrics of one set of generated images against a fixed real reference, through the evaluation
// classifier: FID-FMNIST, classifier IS, k-NN precision / recall and class-conditional accuracy.
// FID-FMNIST uses this zoo classifier's features, so it is NOT comparable with Inception FID.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "patchzoo/eval/class_accuracy.hpp"
#include "patchzoo/eval/frechet_distance.hpp"
#include "patchzoo/eval/inception_score.hpp"
#include "patchzoo/eval/precision_recall.hpp"
#include "patchzoo/eval/zoo_features.hpp"

namespace patchzoo::eval {

// The real side, computed once: features of real images and their Gaussian fit.
struct reference_set {
  tensor<float> features;  // [N, F]
  feature_statistics statistics;
};

inline reference_set make_reference_set(const zoo_features& classifier, const tensor<float>& real_images) {
  reference_set r{classifier.features(real_images), {}};
  r.statistics = compute_feature_statistics(r.features);
  return r;
}

struct sample_metrics {
  std::int64_t samples = 0;
  double fid = 0;                // FID-FMNIST
  double inception_score = 0;    // one split over the whole set
  double precision = 0, recall = 0;
  double class_accuracy = 0;     // share of samples the classifier puts in the requested class
};

// images: [N, 1, 28, 28] in [0, 1]; requested_classes: the class each image was generated for.
// Precision and recall compare with the first min(N, reference size) real samples, so both sets have
// the same size (k-NN radii depend on set size).
inline sample_metrics evaluate_samples(const zoo_features& classifier, const reference_set& reference,
                                       const tensor<float>& images, const std::vector<std::int32_t>& requested_classes,
                                       std::int64_t k = 3) {
  const auto features = classifier.features(images);
  const auto probabilities = classifier.probabilities(images);
  sample_metrics m;
  m.samples = images.dim(0);
  m.fid = frechet_distance_from_statistics(reference.statistics, compute_feature_statistics(features));
  m.inception_score = inception_score(probabilities).mean;
  m.class_accuracy = class_accuracy(probabilities, requested_classes).overall;
  const std::int64_t shared = std::min(m.samples, reference.features.dim(0)), width = features.dim(1);
  tensor<float> real(shape_t{shared, width});
  std::copy(reference.features.data(), reference.features.data() + shared * width, real.data());
  const auto pr = knn_precision_recall(real, features, k);
  m.precision = pr.precision;
  m.recall = pr.recall;
  return m;
}

}  // namespace patchzoo::eval
