#pragma once
// Model extraction's learning step (PSML, arXiv 2307.01292): train a surrogate classifier on the attacker's
// pool images and the victim's answers.
//
//   surrogate train_surrogate(images [N,1,28,28], responses [N,10] probabilities, keep [N], config);
//   tensor<float> surrogate::predict(images [B,1,28,28]) const;   // probabilities [B,10]
//
// Rows with keep[i] == false (responses an adaptive attacker filtered out) are dropped before training:
// training on (all rows, keep) is exactly training on the kept rows alone. Soft labels train with
// cross-entropy against the victim's probability vectors (-sum_c p_victim,c log softmax(z)_c); hard labels
// with the same loss on the one-hot argmax. The surrogate is a zoo architecture (ids m0..m7, default m2 =
// MLP 784-128-10) built and optimised with the zoo's classifier code: eigen backend, float, AdamW, 10 %
// (at most 100 steps) linear warmup then cosine to 2 % of lr, as the zoo trains. Seeded: weights from
// `seed`, epoch orders from (seed, epoch); a rerun with the same inputs and thread count gives the same bits.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "patchzoo/backend/eigen/eigen_backend.hpp"
#include "patchzoo/backend/transfer.hpp"
#include "patchzoo/core/error.hpp"
#include "patchzoo/data/batch_iterator.hpp"
#include "patchzoo/train/adamw.hpp"
#include "patchzoo/train/lr_schedule.hpp"
#include "patchzoo/zoo/make_classifier.hpp"
#include "patchzoo/zoo/training.hpp"
#include "patchzoo/zoo/zoo_spec.hpp"

namespace patchzoo::attack {

enum class label_kind { soft, hard };

struct surrogate_config {
  std::string architecture = "m2";  // a zoo model id (zoo_spec.hpp)
  label_kind labels = label_kind::soft;
  std::int64_t epochs = 30;
  std::int64_t batch = 64;
  double lr = 2e-3;
  double weight_decay = 1e-4;
  std::uint64_t seed = 0;
};

// Soft-target cross-entropy, mean over rows: loss = (1/B) sum_i -sum_c t_ic log softmax(z_i)_c.
// Writes softmax(z) into probs (the backward pass reads it). Host tensors [B, C].
template <class T>
double soft_cross_entropy_forward(const tensor<T>& logits, const tensor<T>& targets, tensor<T>& probs) {
  check(logits.rank() == 2 && targets.shape() == logits.shape() && probs.shape() == logits.shape(),
        "soft_cross_entropy_forward", "logits ", logits.shape().str(), ", targets ", targets.shape().str(),
        " and probs ", probs.shape().str(), " must be the same [B, C]");
  const std::int64_t rows = logits.dim(0), classes = logits.dim(1);
  double total = 0;
  for (std::int64_t i = 0; i < rows; ++i) {
    const T* z = logits.data() + i * classes;
    const double top = *std::max_element(z, z + classes);
    double norm = 0;
    for (std::int64_t c = 0; c < classes; ++c) norm += std::exp(static_cast<double>(z[c]) - top);
    const double log_norm = top + std::log(norm);
    for (std::int64_t c = 0; c < classes; ++c) {
      const double log_p = static_cast<double>(z[c]) - log_norm;
      probs[i * classes + c] = static_cast<T>(std::exp(log_p));
      total -= static_cast<double>(targets[i * classes + c]) * log_p;
    }
  }
  return total / static_cast<double>(rows);
}

// dlogits += (1/B) (p_i sum_c t_ic - t_i): exact for any non-negative targets, p - t when rows sum to 1.
template <class T>
void soft_cross_entropy_backward(tensor<T>& dlogits, const tensor<T>& probs, const tensor<T>& targets) {
  check(probs.rank() == 2 && targets.shape() == probs.shape() && dlogits.shape() == probs.shape(),
        "soft_cross_entropy_backward", "dlogits ", dlogits.shape().str(), ", probs ", probs.shape().str(),
        " and targets ", targets.shape().str(), " must be the same [B, C]");
  const std::int64_t rows = probs.dim(0), classes = probs.dim(1);
  const double inv_rows = 1.0 / static_cast<double>(rows);
  for (std::int64_t i = 0; i < rows; ++i) {
    double mass = 0;
    for (std::int64_t c = 0; c < classes; ++c) mass += static_cast<double>(targets[i * classes + c]);
    for (std::int64_t c = 0; c < classes; ++c) {
      const std::int64_t k = i * classes + c;
      dlogits[k] += static_cast<T>(inv_rows * (static_cast<double>(probs[k]) * mass - static_cast<double>(targets[k])));
    }
  }
}

// The zoo architecture with this id; the error lists the ids there are.
inline zoo::architecture surrogate_architecture(const std::string& id) {
  std::string ids;
  for (const auto& e : zoo::fashion_mnist_zoo()) {
    if (e.id == id) return e.spec;
    ids += (ids.empty() ? "" : ", ") + e.id;
  }
  throw error("surrogate_config: architecture '" + id + "' is not a zoo model id (" + ids + ")");
}

class surrogate {
 public:
  using model_type = zoo::classifier<eigen_backend, float>;

  surrogate(std::unique_ptr<model_type> model, std::int64_t rows, std::int64_t steps, double final_loss)
      : model_(std::move(model)), rows_(rows), steps_(steps), final_loss_(final_loss) {}

  // Probabilities [B, 10] for images [B, 1, 28, 28], in chunks to bound the activations' memory.
  tensor<float> predict(const tensor<float>& images) const {
    check(images.rank() == 4 && images.dim(1) == 1 && images.dim(2) == zoo::image_side &&
              images.dim(3) == zoo::image_side && images.dim(0) > 0,
          "surrogate::predict", "images must be [B, 1, 28, 28] with B > 0, got ", images.shape().str());
    constexpr std::int64_t chunk = 1000;
    const std::int64_t n = images.dim(0), pixels = zoo::image_side * zoo::image_side;
    tensor<float> out(shape_t{n, zoo::class_count});
    eigen_backend be;
    for (std::int64_t begin = 0; begin < n; begin += chunk) {
      const std::int64_t b = std::min(chunk, n - begin);
      tensor<float> part(shape_t{b, 1, zoo::image_side, zoo::image_side});
      std::copy(images.data() + begin * pixels, images.data() + (begin + b) * pixels, part.data());
      const auto probs = zoo::predict_probabilities(be, *model_, part);
      std::copy(probs.data(), probs.data() + probs.numel(), out.data() + begin * zoo::class_count);
    }
    return out;
  }

  const model_type& model() const { return *model_; }
  std::int64_t rows() const { return rows_; }          // training rows after filtering
  std::int64_t steps() const { return steps_; }        // optimiser steps taken
  double final_loss() const { return final_loss_; }    // mean loss of the last epoch

 private:
  std::unique_ptr<model_type> model_;
  std::int64_t rows_, steps_;
  double final_loss_;
};

namespace surrogate_detail {

// The kept rows' images and training targets (the responses, or their one-hot argmax).
inline std::pair<tensor<float>, tensor<float>> kept_rows(const tensor<float>& images, const tensor<float>& responses,
                                                         const std::vector<bool>& keep, label_kind labels) {
  const std::int64_t n = images.dim(0), classes = zoo::class_count, pixels = zoo::image_side * zoo::image_side;
  const auto kept = static_cast<std::int64_t>(std::count(keep.begin(), keep.end(), true));
  check(kept > 0, "train_surrogate", "keep drops all ", n, " rows: nothing to train on");
  tensor<float> x(shape_t{kept, 1, zoo::image_side, zoo::image_side}), t(shape_t{kept, classes});
  std::int64_t row = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    if (!keep[static_cast<std::size_t>(i)]) continue;
    std::copy(images.data() + i * pixels, images.data() + (i + 1) * pixels, x.data() + row * pixels);
    const float* r = responses.data() + i * classes;
    double mass = 0;
    for (std::int64_t c = 0; c < classes; ++c) {
      check(std::isfinite(r[c]) && r[c] >= 0.0f, "train_surrogate", "responses row ", i, " class ", c, " is ", r[c],
            ": not a probability");
      mass += r[c];
    }
    check(std::abs(mass - 1.0) < 1e-3, "train_surrogate", "responses row ", i, " sums to ", mass, ", not 1");
    const std::int64_t top = std::max_element(r, r + classes) - r;
    for (std::int64_t c = 0; c < classes; ++c)
      t[row * classes + c] = labels == label_kind::soft ? r[c] : static_cast<float>(c == top);
    ++row;
  }
  return {std::move(x), std::move(t)};
}

}  // namespace surrogate_detail

inline surrogate train_surrogate(const tensor<float>& images, const tensor<float>& responses,
                                 const std::vector<bool>& keep, const surrogate_config& cfg) {
  check(images.rank() == 4 && images.dim(1) == 1 && images.dim(2) == zoo::image_side &&
            images.dim(3) == zoo::image_side,
        "train_surrogate", "images must be [N, 1, 28, 28], got ", images.shape().str());
  const std::int64_t n = images.dim(0);
  check(responses.shape() == shape_t{n, zoo::class_count}, "train_surrogate", "responses ", responses.shape().str(),
        " must be [N, 10] with N = ", n, " (the images' count)");
  check(static_cast<std::int64_t>(keep.size()) == n, "train_surrogate", "keep holds ", keep.size(),
        " flags for ", n, " images");
  check(cfg.epochs > 0 && cfg.batch > 0 && cfg.lr > 0 && cfg.weight_decay >= 0, "train_surrogate",
        "epochs ", cfg.epochs, " and batch ", cfg.batch, " must be positive, lr ", cfg.lr, " > 0, weight decay ",
        cfg.weight_decay, " >= 0");
  const auto spec = surrogate_architecture(cfg.architecture);
  auto [x, targets] = surrogate_detail::kept_rows(images, responses, keep, cfg.labels);

  eigen_backend be;
  auto model = zoo::make_classifier<eigen_backend, float>(spec, cfg.seed);
  const std::int64_t rows = x.dim(0), classes = zoo::class_count, pixels = zoo::image_side * zoo::image_side;
  const std::int64_t per_epoch = (rows + cfg.batch - 1) / cfg.batch, total = per_epoch * cfg.epochs;
  const auto schedule =
      training::lr_schedule::warmup_cosine(cfg.lr, std::min<std::int64_t>(100, total / 10), total + 1, cfg.lr * 0.02);
  training::adamw_optimizer<eigen_backend, float> opt(
      model->layout(), {.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = cfg.weight_decay});
  const auto ws = model->make_workspace();
  double epoch_loss = 0;
  std::int64_t step = 0;
  for (std::int64_t epoch = 0; epoch < cfg.epochs; ++epoch) {
    const auto order = data::seeded_permutation(rows, data::batch_detail::epoch_key(cfg.seed, epoch, 0));
    epoch_loss = 0;
    for (std::int64_t begin = 0; begin < rows; begin += cfg.batch, ++step) {
      const std::int64_t b = std::min(cfg.batch, rows - begin);
      tensor<float> batch_x(shape_t{b, 1, zoo::image_side, zoo::image_side}), batch_t(shape_t{b, classes}),
          probs(shape_t{b, classes}), dlogits(shape_t{b, classes});
      for (std::int64_t k = 0; k < b; ++k) {
        const std::int64_t i = order[static_cast<std::size_t>(begin + k)];
        std::copy(x.data() + i * pixels, x.data() + (i + 1) * pixels, batch_x.data() + k * pixels);
        std::copy(targets.data() + i * classes, targets.data() + (i + 1) * classes, batch_t.data() + k * classes);
      }
      const auto logits = download(be, model->forward(be, batch_x, *ws));
      const double loss = soft_cross_entropy_forward(logits, batch_t, probs);
      check(std::isfinite(loss), "train_surrogate", "loss is not finite (", loss, ") at step ", step);
      soft_cross_entropy_backward(dlogits, probs, batch_t);
      auto grad = model->logits_grad(*ws);
      eigen_backend::memory::copy_from_host(grad.data, dlogits.data(), dlogits.bytes());
      model->grads().zero();
      model->backward(be, *ws, model->grads());
      opt.step(be, model->params(), model->grads(), schedule.at(step));
      epoch_loss += loss * static_cast<double>(b);
    }
  }
  return surrogate(std::move(model), rows, total, epoch_loss / static_cast<double>(rows));
}

}  // namespace patchzoo::attack
