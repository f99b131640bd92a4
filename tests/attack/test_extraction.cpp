// Model extraction: the attacker's pool is disjoint from the zoo's training images and from its own
// evaluation set; the soft-label loss's gradient matches finite differences; a surrogate learns a fixed
// linear victim from a few hundred queries, better with more; filtered rows are really dropped.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "patchzoo/attack/attack_metrics.hpp"
#include "patchzoo/attack/attacker_pool.hpp"
#include "patchzoo/attack/surrogate_training.hpp"
#include "support/grad_check.hpp"
#include "support/random.hpp"

using namespace patchzoo;
using namespace patchzoo::attack;

namespace {

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const error& e) {
    return e.what();
  }
  return "";
}

// A fixed linear victim: softmax(((x - 0.5) . W) + b) with W ~ N(0, s^2), scaled so logits spread by ~3.
struct linear_victim {
  tensor<double> weight{shape_t{784, 10}}, bias{shape_t{10}};
  explicit linear_victim(std::uint64_t seed) {
    const double s = 3.0 / std::sqrt(784.0 / 12.0);
    for (std::int64_t i = 0; i < weight.numel(); ++i) weight[i] = s * normal01(seed, static_cast<std::uint64_t>(i));
    for (std::int64_t c = 0; c < 10; ++c) bias[c] = 0.5 * normal01(seed + 1, static_cast<std::uint64_t>(c));
  }
  tensor<float> predict(const tensor<float>& images) const {
    const std::int64_t n = images.dim(0);
    tensor<float> out(shape_t{n, 10});
    for (std::int64_t i = 0; i < n; ++i) {
      double z[10], top = -1e300, norm = 0;
      for (std::int64_t c = 0; c < 10; ++c) {
        z[c] = bias[c];
        for (std::int64_t p = 0; p < 784; ++p) z[c] += (images[i * 784 + p] - 0.5) * weight[p * 10 + c];
        top = std::max(top, z[c]);
      }
      for (double& v : z) norm += (v = std::exp(v - top));
      for (std::int64_t c = 0; c < 10; ++c) out[i * 10 + c] = static_cast<float>(z[c] / norm);
    }
    return out;
  }
};

// Images with the low intrinsic dimension of real ones: 0.5 + sum of 12 fixed random patterns with
// weights ~ U[-1, 1], clipped to [0, 1]. The patterns are the same for every seed; the weights are not.
tensor<float> random_images(std::int64_t n, std::uint64_t seed) {
  constexpr std::int64_t factors = 12;
  const auto patterns = test::random_tensor<float>(shape_t{factors, 784}, 1000, -0.15, 0.15);
  const auto weights = test::random_tensor<float>(shape_t{n, factors}, seed, -1.0, 1.0);
  tensor<float> out(shape_t{n, 1, 28, 28});
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t p = 0; p < 784; ++p) {
      float v = 0.5f;
      for (std::int64_t k = 0; k < factors; ++k) v += weights[i * factors + k] * patterns[k * 784 + p];
      out[i * 784 + p] = std::clamp(v, 0.0f, 1.0f);
    }
  return out;
}

tensor<float> first_rows(const tensor<float>& t, std::int64_t n) {
  shape_t s = t.shape();
  s.dims[0] = n;
  tensor<float> out(s);
  std::copy(t.data(), t.data() + out.numel(), out.data());
  return out;
}

surrogate_config fast_config(label_kind labels = label_kind::soft) {
  surrogate_config c;
  c.architecture = "m0";
  c.labels = labels;
  c.epochs = 20;
  c.batch = 32;
  c.lr = 1e-2;
  c.seed = 5;
  return c;
}

bool same_bits(const tensor<float>& a, const tensor<float>& b) {
  return a.shape() == b.shape() && std::equal(a.data(), a.data() + a.numel(), b.data());
}

}  // namespace

TEST_CASE("attacker pool: disjoint from the zoo's training split and from the evaluation set, by index") {
  const attacker_split_config cfg;  // the real sizes: 60000 train, 5000 profiling, 10000 test
  const attacker_split s = make_attacker_split(cfg);
  CHECK(s.pool.size() == 10000);
  CHECK(s.evaluation.size() == 5000);
  const auto zoo_splits = data::make_splits(60000, 5000, cfg.zoo_seed);
  const std::set<std::int64_t> zoo_train(zoo_splits.train.begin(), zoo_splits.train.end());
  std::set<std::int64_t> pool_train, pool_test, eval_test;
  for (const image_ref& r : s.pool) {
    if (r.source == image_source::official_train) {
      CHECK(zoo_train.count(r.index) == 0);
      pool_train.insert(r.index);
    } else {
      CHECK((r.index >= 0 && r.index < 10000));
      pool_test.insert(r.index);
    }
  }
  for (const image_ref& r : s.evaluation) {
    REQUIRE(r.source == image_source::official_test);
    CHECK(pool_test.count(r.index) == 0);
    eval_test.insert(r.index);
  }
  CHECK(pool_train.size() == 5000);  // every profiling image, none twice
  CHECK(pool_test.size() == 5000);
  CHECK(eval_test.size() == 5000);
  // The pool is shuffled: a budget's prefix mixes both sources.
  const auto prefix_train = std::count_if(s.pool.begin(), s.pool.begin() + 1000,
                                          [](const image_ref& r) { return r.source == image_source::official_train; });
  CHECK((prefix_train > 400 && prefix_train < 600));

  CHECK(make_attacker_split(cfg).pool == s.pool);
  attacker_split_config other = cfg;
  other.seed = 1;
  CHECK_FALSE(make_attacker_split(other).pool == s.pool);
  other.evaluation_images = 10001;
  CHECK(error_of([&] { make_attacker_split(other); }).find("evaluation_images 10001") != std::string::npos);
}

TEST_CASE("attacker pool: images come back in the order of the references, scaled to [0, 1]") {
  // Image k of each tiny set is filled with one byte value: 10 + k for train, 100 + k for test.
  data::fashion_mnist ds;
  for (auto* d : {&ds.train, &ds.test}) d->rows = d->cols = 28;
  for (int k = 0; k < 6; ++k) {
    ds.train.pixels.insert(ds.train.pixels.end(), 784, static_cast<std::uint8_t>(10 + k));
    ds.train.labels.push_back(static_cast<std::uint8_t>(k));
    ds.test.pixels.insert(ds.test.pixels.end(), 784, static_cast<std::uint8_t>(100 + k));
    ds.test.labels.push_back(static_cast<std::uint8_t>(9 - k));
  }
  const std::vector<image_ref> refs = {{image_source::official_test, 4},
                                       {image_source::official_train, 2},
                                       {image_source::official_test, 0},
                                       {image_source::official_train, 5}};
  const labelled_images got = load_images(ds, refs, 3);
  REQUIRE(got.images.shape() == shape_t{3, 1, 28, 28});
  CHECK(got.images[0] == doctest::Approx(104.0 / 255.0));
  CHECK(got.images[784 + 783] == doctest::Approx(12.0 / 255.0));
  CHECK(got.images[2 * 784] == doctest::Approx(100.0 / 255.0));
  CHECK(got.labels.to_vector() == std::vector<std::int32_t>{5, 2, 9});
  CHECK(error_of([&] { load_images(ds, refs, 5); }).find("asked for 5 images") != std::string::npos);
}

TEST_CASE("surrogate: the soft-label cross-entropy and its gradient") {
  // Two classes, logits (0, ln 3): softmax (1/4, 3/4); targets (1/2, 1/2).
  tensor<double> probs(shape_t{1, 2});
  const double loss = soft_cross_entropy_forward(tensor<double>(shape_t{1, 2}, {0.0, std::log(3.0)}),
                                                 tensor<double>(shape_t{1, 2}, {0.5, 0.5}), probs);
  CHECK(loss == doctest::Approx(-0.5 * std::log(0.25) - 0.5 * std::log(0.75)));
  CHECK(probs[1] == doctest::Approx(0.75));

  // Finite differences on random logits, for normalised targets and for rows that do not sum to 1.
  for (const bool normalised : {true, false}) {
    tensor<double> logits = test::random_tensor<double>(shape_t{3, 5}, 11, -3.0, 3.0);
    tensor<double> targets = test::random_tensor<double>(shape_t{3, 5}, 12, 0.0, 1.0);
    if (normalised)
      for (std::int64_t i = 0; i < 3; ++i) {
        double s = 0;
        for (std::int64_t c = 0; c < 5; ++c) s += targets[i * 5 + c];
        for (std::int64_t c = 0; c < 5; ++c) targets[i * 5 + c] /= s;
      }
    tensor<double> p(shape_t{3, 5}), grad(shape_t{3, 5});
    soft_cross_entropy_forward(logits, targets, p);
    soft_cross_entropy_backward(grad, p, targets);
    test::check_gradient(normalised ? "soft cross-entropy" : "soft cross-entropy, unnormalised targets", logits,
                         grad, [&] { return soft_cross_entropy_forward(logits, targets, p); });
  }
  // Backward accumulates.
  tensor<double> p(shape_t{1, 2}), twice(shape_t{1, 2}, {1.0, 1.0});
  const tensor<double> logits(shape_t{1, 2}, {0.0, std::log(3.0)}), targets(shape_t{1, 2}, {0.5, 0.5});
  soft_cross_entropy_forward(logits, targets, p);
  soft_cross_entropy_backward(twice, p, targets);
  CHECK(twice[0] == doctest::Approx(1.0 + 0.25 - 0.5));
  CHECK(error_of([&] { soft_cross_entropy_forward(logits, tensor<double>(shape_t{1, 3}), p); })
            .find("targets [1, 3]") != std::string::npos);
}

TEST_CASE("surrogate: extraction of a linear victim reaches high fidelity, and more queries help") {
  const linear_victim victim(7);
  const tensor<float> pool = random_images(400, 21), held_out = random_images(1000, 22);
  const tensor<float> responses = victim.predict(pool), victim_held_out = victim.predict(held_out);
  const auto fidelity_at = [&](std::int64_t budget, label_kind labels) {
    const surrogate s = train_surrogate(first_rows(pool, budget), first_rows(responses, budget),
                                        std::vector<bool>(static_cast<std::size_t>(budget), true), fast_config(labels));
    CHECK(s.rows() == budget);
    return fidelity(s.predict(held_out), victim_held_out);
  };
  const double soft_small = fidelity_at(40, label_kind::soft), soft_large = fidelity_at(400, label_kind::soft);
  const double hard_large = fidelity_at(400, label_kind::hard);
  MESSAGE("fidelity: soft 40 queries ", soft_small, ", soft 400 ", soft_large, ", hard 400 ", hard_large);
  CHECK(soft_large >= 0.9);
  CHECK(soft_large > soft_small + 0.1);
  CHECK(hard_large > 0.5);
  CHECK(soft_large > hard_large);  // probability vectors carry more than their argmax
}

TEST_CASE("surrogate: hard labels train on the one-hot argmax of the responses") {
  const linear_victim victim(8);
  const tensor<float> images = random_images(64, 31), responses = victim.predict(images);
  tensor<float> one_hot(responses.shape());
  for (std::int64_t i = 0; i < 64; ++i)
    one_hot[i * 10 + (std::max_element(responses.data() + i * 10, responses.data() + i * 10 + 10) -
                      (responses.data() + i * 10))] = 1.0f;
  const std::vector<bool> all(64, true);
  auto cfg = fast_config(label_kind::hard);
  cfg.epochs = 3;
  const auto hard = train_surrogate(images, responses, all, cfg).predict(images);
  cfg.labels = label_kind::soft;
  CHECK(same_bits(hard, train_surrogate(images, one_hot, all, cfg).predict(images)));
  CHECK_FALSE(same_bits(hard, train_surrogate(images, responses, all, cfg).predict(images)));
}

TEST_CASE("surrogate: a filtered row is ignored, exactly") {
  // 48 honest rows, then 16 rows answered by a different victim that the attacker filters out.
  const linear_victim victim(9), decoy(10);
  const tensor<float> images = random_images(64, 41);
  tensor<float> responses = victim.predict(images);
  const tensor<float> decoy_responses = decoy.predict(images);
  std::copy(decoy_responses.data() + 48 * 10, decoy_responses.data() + 64 * 10, responses.data() + 48 * 10);
  std::vector<bool> keep(64, true);
  std::fill(keep.begin() + 48, keep.end(), false);
  auto cfg = fast_config();
  cfg.epochs = 3;
  const tensor<float> probe = random_images(50, 42);

  const surrogate filtered = train_surrogate(images, responses, keep, cfg);
  CHECK(filtered.rows() == 48);
  const surrogate honest_only =
      train_surrogate(first_rows(images, 48), first_rows(responses, 48), std::vector<bool>(48, true), cfg);
  CHECK(same_bits(filtered.predict(probe), honest_only.predict(probe)));
  const surrogate unfiltered = train_surrogate(images, responses, std::vector<bool>(64, true), cfg);
  CHECK_FALSE(same_bits(filtered.predict(probe), unfiltered.predict(probe)));

  // Seeded: the same call gives the same bits.
  CHECK(same_bits(filtered.predict(probe), train_surrogate(images, responses, keep, cfg).predict(probe)));
}

TEST_CASE("surrogate: bad input names the problem") {
  const tensor<float> images = random_images(4, 51);
  const tensor<float> responses = linear_victim(11).predict(images);
  const std::vector<bool> all(4, true);
  const auto cfg = fast_config();
  CHECK(error_of([&] { train_surrogate(images, first_rows(responses, 3), all, cfg); }).find("responses [3, 10]") !=
        std::string::npos);
  CHECK(error_of([&] { train_surrogate(images, responses, std::vector<bool>(3, true), cfg); })
            .find("keep holds 3 flags for 4 images") != std::string::npos);
  CHECK(error_of([&] { train_surrogate(images, responses, std::vector<bool>(4, false), cfg); })
            .find("drops all 4 rows") != std::string::npos);
  auto unknown = cfg;
  unknown.architecture = "resnet18";
  CHECK(error_of([&] { train_surrogate(images, responses, all, unknown); }).find("'resnet18' is not a zoo model id") !=
        std::string::npos);
  tensor<float> scaled = responses.clone();
  scaled[0] += 0.5f;
  CHECK(error_of([&] { train_surrogate(images, scaled, all, cfg); }).find("responses row 0 sums to") !=
        std::string::npos);
  CHECK(error_of([&] { train_surrogate(random_images(4, 52), responses, all, cfg).predict(tensor<float>(shape_t{2, 784})); })
            .find("images must be [B, 1, 28, 28]") != std::string::npos);
}
