#pragma once
// The tokenizer's training loop: seeded shuffled batches in [-1, 1], AdamW with warmup + cosine (or
// constant) learning rate, gradient clipping, codebook upkeep after each step, a CSV loss log and
// checkpoints every N steps that resume exactly (data position, moments, codebook state, history).
// Data-parallel with a communicator: each rank trains on its shard of the global batch, gradients and losses
// are averaged, and the codebook upkeep sees the whole batch on every rank, so the codebook state stays the
// same on all of them (and equal to one process's); rank 0 alone writes the log and checkpoints.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "patchzoo/core/number_text.hpp"
#include "patchzoo/data/batch_iterator.hpp"
#include "patchzoo/train/data_parallel.hpp"
#include "patchzoo/train/lr_schedule.hpp"
#include "patchzoo/vq/vq_checkpoint.hpp"

namespace patchzoo::vq {

struct vq_train_config {
  std::int64_t steps = 2000;
  std::int64_t batch = 64;
  double lr = 2e-3;
  std::int64_t warmup = 100;
  bool cosine = true;  // false: constant lr
  double min_lr_ratio = 0.1;
  double clip = 1.0;
  double weight_decay = 0.0;
  std::int64_t checkpoint_every = 500;  // 0: only at the end; needs out_dir
  std::uint64_t seed = 1;
  std::filesystem::path out_dir;  // empty: no checkpoints and no log
  training::communicator* comm = nullptr;  // the ranks that share each batch; null: this process alone
};

struct vq_step_log {
  std::int64_t step = 0;  // 1-based
  double recon_mse = 0, quantizer_loss = 0, perplexity = 0, usage = 0, lr = 0;
  std::int64_t restarted = 0;
};

template <backend B>
  requires vq_ops<B, float>
class vq_trainer {
 public:
  vq_trainer(vq_tokenizer<B, float>& model, const data::image_dataset& train, const vq_train_config& cfg)
      : model_(model), cfg_(cfg),
        opt_(model.layout(), {.beta1 = 0.9, .beta2 = 0.95, .eps = 1e-8, .weight_decay = cfg.weight_decay}),
        schedule_(cfg.cosine ? training::lr_schedule::warmup_cosine(cfg.lr, std::min(cfg.warmup, cfg.steps - 1),
                                                                    cfg.steps, cfg.lr * cfg.min_lr_ratio)
                             : training::lr_schedule::constant(cfg.lr)),
        batches_(train, cfg.batch, data::batch_order::shuffled, cfg.seed,
                 {.range = data::pixel_range::minus_one_one, .drop_last = true}),
        comm_(cfg.comm ? *cfg.comm : training::single_process()), images_(train.size()),
        data_checksum_(comm_.size() > 1 ? training::fnv1a(train.pixels.data(), train.pixels.size()) : 0) {
    check(cfg.steps >= 1 && cfg.batch >= 1, "vq_trainer", "steps ", cfg.steps, " and batch ", cfg.batch,
          " must be positive");
    training::check_divisible_batch(comm_, cfg.batch, "vq_trainer");
  }

  std::int64_t step() const { return opt_.steps(); }
  const std::vector<vq_step_log>& history() const { return history_; }

  // Continues from out_dir's checkpoint when there is one; returns the step it resumed at (0: fresh).
  std::int64_t resume(B& be) {
    if (cfg_.out_dir.empty() || !std::filesystem::exists(checkpoint_path(cfg_.out_dir))) return 0;
    tensor<double> h;
    const auto meta = load_tokenizer_checkpoint(be, cfg_.out_dir, model_, opt_, h);
    batches_.seek(metadata_int(checkpoint_path(cfg_.out_dir), meta, "data.epoch"),
                  metadata_int(checkpoint_path(cfg_.out_dir), meta, "data.position"));
    history_.clear();
    for (std::int64_t r = 0; r < h.dim(0); ++r) {  // h is [step, history_columns], checked by the load
      const double* v = h.data() + r * history_columns;
      history_.push_back({static_cast<std::int64_t>(v[0]), v[1], v[2], v[3], v[4], v[5], static_cast<std::int64_t>(v[6])});
    }
    return opt_.steps();
  }

  // Trains up to step `until` (cfg.steps when negative), calling on_step after every step.
  void run(B& be, const std::function<void(const vq_step_log&)>& on_step = {}, std::int64_t until = -1) {
    const std::int64_t last = until < 0 ? cfg_.steps : std::min(until, cfg_.steps);
    if (!ranks_agree_) join_ranks(be);
    data::image_batch batch;
    while (opt_.steps() < last) {
      if (!batches_.next(batch)) batches_.next(batch);  // an epoch ended: the next one starts at once
      const std::int64_t s = opt_.steps();
      model_.grads().zero();
      const auto losses = model_.forward(be, training::local_shard(comm_, batch.images.clone()));
      model_.backward(be);
      training::average_gradients(be, comm_, model_.grads());
      std::vector<double> mean_losses{losses.recon_mse, losses.quantizer};
      training::average_over_ranks(comm_, mean_losses);
      training::clip_grad_norm(be, model_.grads(), cfg_.clip);
      const double lr = schedule_.at(s);
      opt_.step(be, model_.params(), model_.grads(), lr);
      const std::int64_t restarted = model_.update_codebook(be, s + 1, cfg_.seed, comm_);
      const auto& usage = model_.state().last_batch();
      history_.push_back({s + 1, mean_losses[0], mean_losses[1], usage.perplexity(), usage.usage(), lr, restarted});
      if (on_step) on_step(history_.back());
      const bool due = cfg_.checkpoint_every > 0 && (s + 1) % cfg_.checkpoint_every == 0;
      if (!cfg_.out_dir.empty() && (due || s + 1 == cfg_.steps) && comm_.is_root()) save(be);
      if (s + 1 == cfg_.steps && comm_.size() > 1)
        training::check_identical_parameters(be, comm_, model_.params(), "vq_trainer");
    }
  }

  // loss.csv first, the checkpoint last: the checkpoint commits the step, and a loss.csv that a kill
  // left ahead of it is rewritten from the checkpoint's history by the resumed run.
  void save(B& be) {
    check(!cfg_.out_dir.empty(), "vq_trainer::save", "no output directory");
    training::checkpoint_metadata meta = extra_metadata_;
    meta["data.epoch"] = std::to_string(batches_.epoch());
    meta["data.position"] = std::to_string(batches_.position());
    std::filesystem::create_directories(cfg_.out_dir);
    write_csv(cfg_.out_dir / "loss.csv");
    save_tokenizer_checkpoint(be, cfg_.out_dir, model_, opt_, meta, history_tensor());
  }

  // Caller metadata stored in every checkpoint (the CLI's preprocessing, for eval).
  void set_metadata(const std::string& key, const std::string& value) { extra_metadata_[key] = value; }

  void write_csv(const std::filesystem::path& path) const {
    std::ostringstream csv;
    csv << "step,recon_mse,codebook_loss,perplexity,usage,lr,restarted\n";
    csv.precision(8);
    for (const auto& h : history_)
      csv << h.step << "," << h.recon_mse << "," << h.quantizer_loss << "," << h.perplexity << "," << h.usage << ","
          << h.lr << "," << h.restarted << "\n";
    const std::string text = csv.str();
    write_file_atomically(path, [&](file_sink& sink) { sink.write(text.data(), text.size()); });
  }

 private:
  // Before the first step of a data-parallel run: every rank trains the same tokenizer on the same images from
  // the same step, starting from rank 0's parameters and codebook state.
  void join_ranks(B& be) {
    ranks_agree_ = true;
    if (comm_.size() == 1) return;
    training::checkpoint_metadata settings = extra_metadata_;
    add_config_metadata(settings, model_.config());
    settings["train.recipe"] = std::to_string(cfg_.steps) + " steps, batch " + std::to_string(cfg_.batch) + ", lr " +
                               shortest_text(cfg_.lr) + ", warmup " + std::to_string(cfg_.warmup) +
                               (cfg_.cosine ? ", cosine " : ", constant ") + shortest_text(cfg_.min_lr_ratio) +
                               ", clip " + shortest_text(cfg_.clip) + ", decay " + shortest_text(cfg_.weight_decay);
    settings["train.checkpoint_every"] = std::to_string(cfg_.checkpoint_every);
    settings["data.seed"] = std::to_string(cfg_.seed);
    settings["data.images"] = std::to_string(images_);
    settings["data.checksum"] = std::to_string(data_checksum_);
    settings["resumed.step"] = std::to_string(opt_.steps());
    training::start_together(be, comm_, "vq_trainer", settings, model_.params());
    model_.state().broadcast(comm_);  // the EMA statistics and code ages started from each rank's codebook
  }

  tensor<double> history_tensor() const {
    tensor<double> t(shape_t{static_cast<std::int64_t>(history_.size()), history_columns});
    for (std::size_t i = 0; i < history_.size(); ++i) {
      const auto& h = history_[i];
      const double row[history_columns] = {static_cast<double>(h.step), h.recon_mse, h.quantizer_loss, h.perplexity,
                                           h.usage, h.lr, static_cast<double>(h.restarted)};
      std::copy(row, row + history_columns, t.data() + i * history_columns);
    }
    return t;
  }

  vq_tokenizer<B, float>& model_;
  vq_train_config cfg_;
  training::adamw_optimizer<B, float> opt_;
  training::lr_schedule schedule_;
  data::batch_iterator batches_;
  training::communicator& comm_;
  std::int64_t images_;
  std::uint64_t data_checksum_;
  bool ranks_agree_ = false;
  std::vector<vq_step_log> history_;
  training::checkpoint_metadata extra_metadata_;
};

}  // namespace patchzoo::vq
