#pragma once
// Seeded training of one classifier (AdamW, warmup + cosine, mean cross-entropy), optionally with
// checkpoints that resume exactly, and the batched evaluation passes: class probabilities and top-1
// accuracy on an image dataset.
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "patchzoo/backend/transfer.hpp"
#include "patchzoo/core/number_text.hpp"
#include "patchzoo/data/batch_iterator.hpp"
#include "patchzoo/io/metadata_numbers.hpp"
#include "patchzoo/train/adamw.hpp"
#include "patchzoo/train/checkpoint.hpp"
#include "patchzoo/train/data_parallel.hpp"
#include "patchzoo/train/lr_schedule.hpp"
#include "patchzoo/zoo/classifier.hpp"
#include "patchzoo/zoo/zoo_spec.hpp"

namespace patchzoo::zoo {

// Softmax probabilities [B, 10] on the host, from a fresh workspace: safe to call concurrently.
template <backend B, real T>
tensor<T> predict_probabilities(B& be, const classifier<B, T>& model, const tensor<T>& images) {
  const auto ws = model.make_workspace();
  const auto logits = model.forward(be, images, *ws);
  tensor_on<B, T> probs(logits.shape);
  softmax_forward(be, probs.view(), logits);
  return download(be, probs.cview());
}

// Penultimate-layer features [B, F] on the host, from a fresh workspace.
template <backend B, real T>
tensor<T> predict_features(B& be, const classifier<B, T>& model, const tensor<T>& images) {
  const auto ws = model.make_workspace();
  model.forward(be, images, *ws);
  return download(be, model.features(*ws));
}

template <real T>
tensor<T> batch_images(const data::image_batch& batch) {
  if constexpr (std::is_same_v<T, float>) {
    return batch.images.clone();
  } else {
    tensor<T> out(batch.images.shape());
    for (std::int64_t i = 0; i < out.numel(); ++i) out[i] = static_cast<T>(batch.images[i]);
    return out;
  }
}

// Top-1 accuracy in [0, 1] over the whole dataset.
template <backend B, real T>
double evaluate_accuracy(B& be, const classifier<B, T>& model, const data::image_dataset& ds, std::int64_t batch = 500) {
  data::batch_iterator it(ds, batch, data::batch_order::in_order, 0);
  data::image_batch b;
  const auto ws = model.make_workspace();
  std::int64_t correct = 0;
  while (it.next(b)) {
    const auto logits = download(be, model.forward(be, batch_images<T>(b), *ws));
    for (std::int64_t i = 0; i < logits.dim(0); ++i) {
      std::int64_t best = 0;
      for (std::int64_t c = 1; c < class_count; ++c)
        if (logits[i * class_count + c] > logits[i * class_count + best]) best = c;
      correct += best == b.labels[i];
    }
  }
  return static_cast<double>(correct) / static_cast<double>(ds.size());
}

struct training_result {
  std::int64_t steps = 0;
  double first_loss = 0, final_loss = 0;  // the final loss is the mean over the last 50 steps
};

// One optimiser step's loss, for progress reporting: (step, total steps, loss).
using step_callback = std::function<void(std::int64_t, std::int64_t, double)>;

// Where train_classifier keeps a training checkpoint (weights, moments, step, data position, loss
// sums): written every `every` steps and at the end, atomically, so a kill leaves the previous one.
struct training_checkpoint {
  std::filesystem::path path;  // empty: no checkpoints
  std::int64_t every = 100;
};

namespace training_detail {

template <class V>
V number_field(const std::filesystem::path& path, const training::checkpoint_metadata& m, const std::string& key) {
  const auto it = m.find(key);
  check(it != m.end(), "train_classifier", path.string(), " has no metadata '", key, "'");
  const std::string what = "train_classifier: " + path.string() + ": metadata '" + key + "'";
  if constexpr (std::is_same_v<V, double>) {
    return parse_metadata_real(it->second, what);
  } else {
    const std::int64_t v = parse_metadata_int(it->second, what);
    check(v >= 0, "train_classifier", path.string(), ": metadata '", key, "' = ", v, " is negative");
    return static_cast<V>(v);
  }
}

}  // namespace training_detail

// Trains in place on `train` for cfg.epochs (fractional epochs stop early); data order and weights
// are functions of `seed` alone. With a checkpoint path that holds a checkpoint, training continues
// from it and ends exactly where an uninterrupted run would. With a communicator of several ranks each rank
// trains on its shard of every batch (gradients and losses averaged) and rank 0 alone writes checkpoints.
template <backend B, real T>
  requires transformer_ops<B, T>
training_result train_classifier(B& be, classifier<B, T>& model, const data::image_dataset& train,
                                 const training_config& cfg, std::uint64_t seed, const step_callback& on_step = {},
                                 const training_checkpoint& checkpoint = {},
                                 training::communicator& comm = training::single_process()) {
  training::check_divisible_batch(comm, cfg.batch, "train_classifier");
  data::batch_iterator it(train, cfg.batch, data::batch_order::shuffled, seed, {.drop_last = true});
  const auto total = std::max<std::int64_t>(
      1, static_cast<std::int64_t>(std::llround(cfg.epochs * static_cast<double>(it.batches_per_epoch()))));
  const auto warmup = std::min<std::int64_t>(100, total / 10);
  const auto schedule = training::lr_schedule::warmup_cosine(cfg.lr, warmup, total + 1, cfg.lr * 0.02);
  training::adamw_optimizer<B, T> opt(model.layout(),
                                      {.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = cfg.weight_decay});
  training_result r;
  double tail = 0;
  std::int64_t tail_count = 0;
  if (!checkpoint.path.empty() && std::filesystem::exists(checkpoint.path)) {
    using training_detail::number_field;
    const auto& path = checkpoint.path;
    const auto meta = training::load_checkpoint(be, path, model.params(), opt);
    check(number_field<std::int64_t>(path, meta, "train.total") == total &&
              number_field<std::uint64_t>(path, meta, "train.seed") == seed,
          "train_classifier", path.string(), " is a checkpoint of another run (total steps or seed differ)");
    it.seek(number_field<std::int64_t>(path, meta, "data.epoch"), number_field<std::int64_t>(path, meta, "data.position"));
    r.first_loss = number_field<double>(path, meta, "train.first_loss");
    tail = number_field<double>(path, meta, "train.tail");
    tail_count = number_field<std::int64_t>(path, meta, "train.tail_count");
  }
  const auto save = [&] {
    training::checkpoint_metadata meta{{"data.epoch", std::to_string(it.epoch())},
                                    {"data.position", std::to_string(it.position())},
                                    {"train.total", std::to_string(total)},
                                    {"train.seed", std::to_string(seed)},
                                    {"train.first_loss", shortest_text(r.first_loss)},
                                    {"train.tail", shortest_text(tail)},
                                    {"train.tail_count", std::to_string(tail_count)}};
    training::save_checkpoint(be, checkpoint.path, std::as_const(model).params(), opt, meta);
  };
  if (comm.size() > 1) {  // every rank: the same run from the same step, from rank 0's weights
    training::start_together(
        be, comm, "train_classifier",
        {{"model.parameters", std::to_string(model.layout().total())},
         {"train.recipe", std::to_string(total) + " steps, batch " + std::to_string(cfg.batch) + ", lr " +
                              shortest_text(cfg.lr) + ", decay " + shortest_text(cfg.weight_decay)},
         {"data.seed", std::to_string(seed)},
         {"data.checksum", std::to_string(training::fnv1a(train.pixels.data(), train.pixels.size(),
                                                          training::fnv1a(train.labels.data(), train.labels.size())))},
         {"resumed.step", std::to_string(opt.steps())}},
        model.params());
  }
  const auto ws = model.make_workspace();
  data::image_batch b;
  tensor_on<B, T> losses, probs;
  for (std::int64_t step = opt.steps(); step < total; ++step) {
    if (!it.next(b)) it.next(b);  // an epoch ended: the iterator has moved on to the next one
    const auto images = training::local_shard(comm, batch_images<T>(b));
    const auto logits = model.forward(be, images, *ws);
    const std::int64_t n = logits.dim(0);
    if (losses.empty() || losses.dim(0) != n) {
      losses = tensor_on<B, T>(shape_t{n});
      probs = tensor_on<B, T>(shape_t{n, class_count});
    }
    const auto targets = upload(be, training::local_shard(comm, b.labels.clone()));
    cross_entropy_forward(be, losses.view(), probs.view(), logits, targets.cview(), -1);
    std::vector<double> mean_loss{sum(be, losses.cview()) / static_cast<double>(n)};
    training::average_over_ranks(comm, mean_loss);
    const double loss = mean_loss[0];
    check(std::isfinite(loss), "train_classifier", "loss is not finite (", loss, ") at step ", step);
    auto dlogits = model.logits_grad(*ws);
    fill(be, dlogits, T(0));
    cross_entropy_backward(be, dlogits, probs.cview(), targets.cview(), -1, static_cast<T>(1.0 / static_cast<double>(n)));
    model.grads().zero();
    model.backward(be, *ws, model.grads());
    training::average_gradients(be, comm, model.grads());
    opt.step(be, model.params(), model.grads(), schedule.at(step));
    if (step == 0) r.first_loss = loss;
    if (step >= total - 50) tail += loss, ++tail_count;
    if (on_step) on_step(step + 1, total, loss);
    const bool due = checkpoint.every > 0 && (step + 1) % checkpoint.every == 0;
    if (!checkpoint.path.empty() && (due || step + 1 == total) && comm.is_root()) save();
  }
  if (comm.size() > 1) training::check_identical_parameters(be, comm, std::as_const(model).params(), "train_classifier");
  r.steps = total;
  r.final_loss = tail / static_cast<double>(tail_count);
  return r;
}

}  // namespace patchzoo::zoo
