// Inception Score, k-NN precision/recall and class-conditional accuracy on sets whose answers are known.
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "patchzoo/eval/class_accuracy.hpp"
#include "patchzoo/eval/inception_score.hpp"
#include "patchzoo/eval/precision_recall.hpp"
#include "support/random.hpp"

using namespace patchzoo;
using namespace patchzoo::eval;

namespace {

// n rows, each one-hot on class (i mod used_classes), with `confidence` on it and the rest spread evenly.
tensor<float> predictions(std::int64_t n, std::int64_t classes, std::int64_t used_classes, double confidence) {
  tensor<float> p(shape_t{n, classes});
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t k = 0; k < classes; ++k)
      p[i * classes + k] = static_cast<float>(k == i % used_classes ? confidence : (1 - confidence) / (classes - 1));
  return p;
}

}  // namespace

TEST_CASE("inception score: 1 for identical predictions, C for confident and balanced ones") {
  CHECK(inception_score(predictions(100, 10, 1, 0.7)).mean == doctest::Approx(1.0).epsilon(1e-12));
  CHECK(inception_score(predictions(100, 10, 10, 1.0)).mean == doctest::Approx(10.0).epsilon(1e-12));
  CHECK(inception_score(predictions(100, 10, 5, 1.0)).mean == doctest::Approx(5.0).epsilon(1e-12));
  // confident but unsure images lie in between
  const double mid = inception_score(predictions(100, 10, 10, 0.6)).mean;
  CHECK(mid > 1.5);
  CHECK(mid < 9.0);
}

TEST_CASE("inception score: splits score their parts separately") {
  // first half uses 2 classes, second half 4: split scores 2 and 4
  tensor<float> p(shape_t{8, 4});
  for (std::int64_t i = 0; i < 8; ++i) p[i * 4 + (i < 4 ? i % 2 : i % 4)] = 1.0f;
  const auto r = inception_score(p, 2);
  CHECK(r.splits == 2);
  CHECK(r.mean == doctest::Approx(3.0));
  CHECK(r.std == doctest::Approx(1.0));
  CHECK_THROWS_AS(inception_score(p, 9), error);
}

TEST_CASE("k-NN precision and recall") {
  const auto real = test::random_tensor<float>(shape_t{200, 4}, 5);
  SUBCASE("the same set: every sample lies in its own ball") {
    const auto r = knn_precision_recall(real, real, 3);
    CHECK(r.precision == 1.0);
    CHECK(r.recall == 1.0);
  }
  SUBCASE("a far-away set: neither manifold covers the other") {
    auto far = real.clone();
    for (std::int64_t i = 0; i < far.numel(); ++i) far[i] += 10.0f;
    const auto r = knn_precision_recall(real, far, 3);
    CHECK(r.precision == 0.0);
    CHECK(r.recall == 0.0);
  }
  SUBCASE("mode collapse: precise but poor coverage") {
    // generated = 50 copies of 4 real points with a tiny jitter
    tensor<float> collapsed(shape_t{200, 4});
    const auto jitter = test::random_tensor<float>(shape_t{200, 4}, 6, -1e-4, 1e-4);
    for (std::int64_t i = 0; i < 200; ++i)
      for (std::int64_t j = 0; j < 4; ++j) collapsed[i * 4 + j] = real[(i % 4) * 4 + j] + jitter[i * 4 + j];
    const auto r = knn_precision_recall(real, collapsed, 3);
    CHECK(r.precision == 1.0);
    CHECK(r.recall < 0.1);
  }
  SUBCASE("a wider generated distribution: high recall, lower precision") {
    const auto wide = test::random_tensor<float>(shape_t{200, 4}, 7, -3.0, 3.0);
    const auto r = knn_precision_recall(real, wide, 3);
    CHECK(r.recall > 0.8);
    CHECK(r.precision < 0.3);
  }
  CHECK_THROWS_AS(knn_precision_recall(real, test::random_tensor<float>(shape_t{3, 4}, 8), 3), error);
  CHECK_THROWS_AS(knn_precision_recall(real, test::random_tensor<float>(shape_t{50, 5}, 8), 3), error);
}

TEST_CASE("class accuracy: overall and per requested class") {
  const tensor<float> p(shape_t{5, 3}, {0.7f, 0.2f, 0.1f,   // asked 0, got 0
                                        0.1f, 0.8f, 0.1f,   // asked 0, got 1
                                        0.1f, 0.3f, 0.6f,   // asked 2, got 2
                                        0.5f, 0.4f, 0.1f,   // asked 1, got 0
                                        0.2f, 0.2f, 0.6f}); // asked 2, got 2
  const auto r = class_accuracy(p, {0, 0, 2, 1, 2});
  CHECK(r.overall == doctest::Approx(0.6));
  CHECK(r.per_class[0] == doctest::Approx(0.5));
  CHECK(r.per_class[1] == doctest::Approx(0.0));
  CHECK(r.per_class[2] == doctest::Approx(1.0));
  CHECK(r.requested == std::vector<std::int64_t>{2, 1, 2});
  CHECK_THROWS_AS(class_accuracy(p, {0, 0, 3, 1, 2}), error);
  CHECK_THROWS_AS(class_accuracy(p, {0, 0}), error);
}
