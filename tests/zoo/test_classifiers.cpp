// Whole classifiers: parameter gradients of the mean cross-entropy by finite differences (sequential
// CNN and ViT, double on the xtensor reference), and a short real-data training run that learns.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include "patchzoo/backend/eigen/eigen_backend.hpp"
#include "patchzoo/backend/xtensor/xtensor_backend.hpp"
#include "patchzoo/data/fashion_mnist.hpp"
#include "patchzoo/zoo/make_classifier.hpp"
#include "patchzoo/zoo/training.hpp"
#include "patchzoo/zoo/zoo_spec.hpp"
#include "support/grad_check.hpp"
#include "support/random.hpp"

using namespace patchzoo;
using namespace patchzoo::zoo;

namespace {

// Mean cross-entropy of the model on (images, labels), and its parameter gradient in model.grads().
double loss_and_grad(xtensor_backend& be, classifier<xtensor_backend, double>& model, const tensor<double>& images,
                     const tensor<std::int32_t>& labels, bool backward) {
  const auto ws = model.make_workspace();
  const auto logits = model.forward(be, images, *ws);
  const std::int64_t n = logits.dim(0);
  tensor<double> losses(shape_t{n}), probs(shape_t{n, class_count});
  cross_entropy_forward(be, losses.view(), probs.view(), logits, labels.cview(), -1);
  if (backward) {
    auto d = model.logits_grad(*ws);
    fill(be, d, 0.0);
    cross_entropy_backward(be, d, probs.cview(), labels.cview(), -1, 1.0 / static_cast<double>(n));
    model.grads().zero();
    model.backward(be, *ws, model.grads());
  }
  return sum(be, losses.cview()) / static_cast<double>(n);
}

void check_classifier_gradient(const architecture& spec, const char* what) {
  xtensor_backend be;
  auto model = make_classifier<xtensor_backend, double>(spec, 3);
  const auto images = test::random_tensor<double>(shape_t{2, 1, image_side, image_side}, 21, 0.0, 1.0);
  const auto labels = test::int_tensor(shape_t{2}, {3, 7});
  loss_and_grad(be, *model, images, labels, true);
  auto analytic = model->grads().flat();
  tensor<double> grad(analytic.shape), params(analytic.shape);
  for (std::int64_t i = 0; i < grad.numel(); ++i) grad[i] = analytic.data[i], params[i] = model->params().flat().data[i];
  test::check_gradient(what, params, grad, [&] {
    std::copy(params.data(), params.data() + params.numel(), model->params().flat().data);
    return loss_and_grad(be, *model, images, labels, false);
  });
}

}  // namespace

TEST_CASE("zoo classifiers: a sequential CNN's parameter gradients match finite differences") {
  using L = layer_spec;
  check_classifier_gradient(sequential_spec{{L::conv2d(2, 3, 1), L::gelu(), L::maxpool2d(4), L::conv2d(2, 3, 0),
                                             L::avgpool2d(5), L::flatten(), L::linear(4), L::gelu(), L::linear(10)}},
                            "sequential CNN");
}

TEST_CASE("zoo classifiers: a small ViT's parameter gradients match finite differences") {
  check_classifier_gradient(vit_spec{4, 8, 2, 8, 1}, "ViT");
}

TEST_CASE("zoo classifiers: shapes, flops and features") {
  eigen_backend be;
  for (const auto& e : fashion_mnist_zoo()) {
    INFO(e.id);
    auto model = make_classifier<eigen_backend, float>(e.spec, 1);
    CHECK(model->flops() > 0);
    const auto images = test::random_tensor<float>(shape_t{3, 1, image_side, image_side}, 5, 0.0, 1.0);
    const auto ws = model->make_workspace();
    const auto logits = model->forward(be, images, *ws);
    CHECK(logits.shape == shape_t{3, class_count});
    CHECK(model->features(*ws).dim(0) == 3);
  }
  CHECK(make_classifier<eigen_backend, float>(mlp({}), 1)->flops() == 2 * 784 * 10);
  CHECK(make_classifier<eigen_backend, float>(mlp({}), 1)->parameter_count() == 7850);
  auto model = make_classifier<eigen_backend, float>(mlp({}), 1);
  const tensor<float> wrong(shape_t{2, 1, 14, 14});
  const auto ws = model->make_workspace();
  CHECK_THROWS_WITH_AS(model->forward(be, wrong, *ws), doctest::Contains("expected [B, 1, 28, 28]"), error);
}

TEST_CASE("zoo training: a few steps on 200 real Fashion-MNIST images lower the loss") {
  if (!std::filesystem::exists(data::fashion_mnist_default_dir / "train-images-idx3-ubyte.gz")) {
    MESSAGE("Fashion-MNIST is not installed; skipped");
    return;
  }
  const auto ds = data::load_fashion_mnist();
  std::vector<std::int64_t> first(200);
  for (std::int64_t i = 0; i < 200; ++i) first[i] = i;
  const auto train = ds.train.subset(first);
  eigen_backend be;
  auto model = make_classifier<eigen_backend, float>(mlp({32}), 7);
  const double before = evaluate_accuracy(be, *model, train);
  std::vector<double> losses;
  const auto r = train_classifier(be, *model, train, {10, 50, 3e-3, 0.0}, 9,
                                  [&](std::int64_t, std::int64_t, double loss) { losses.push_back(loss); });
  CHECK(r.steps == 40);
  REQUIRE(losses.size() == 40);
  CHECK(losses.back() < 0.5 * losses.front());
  const double after = evaluate_accuracy(be, *model, train);
  CHECK(after > before + 0.3);
  CHECK(after > 0.7);
}
