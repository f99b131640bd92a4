#pragma once
// One training loop for the three image-token models (DPAR's recipe): the entropy model (unconditional
// LlamaGen), the baseline (conditional LlamaGen) and DPAR, whose patch lengths come from an entropy file
// through the patcher. Seeded shuffled batches of a token file, AdamW (0.9, 0.95; decay on rank >= 2),
// constant lr with optional warmup + cosine, global-norm clipping, the models' dropout, atomic checkpoints
// that resume exactly (data position, moments, step, counters) and a CSV log; the loss-curve PNG is the
// caller's (pipeline/model_training.hpp draws it from history()). Training FLOPs use dpar/flops.hpp's full convention (2 per MAC, attention included, training = 3 x forward).
// Data-parallel with a communicator (train/data_parallel.hpp): every rank draws the same global batch and
// trains on its shard, gradients are averaged before clipping, and rank 0 alone writes the log and checkpoint.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "patchzoo/dpar/entropy_file.hpp"
#include "patchzoo/dpar/flops.hpp"
#include "patchzoo/dpar/model_metadata.hpp"
#include "patchzoo/dpar/token_order.hpp"
#include "patchzoo/train/checkpoint.hpp"
#include "patchzoo/train/data_parallel.hpp"
#include "patchzoo/train/lr_schedule.hpp"
#include "patchzoo/data/token_file.hpp"

namespace patchzoo::dpar {

struct train_config {
  std::int64_t steps = 1000;
  std::int64_t batch = 32;
  double lr = 1e-4;
  std::int64_t warmup = 0;  // warmup steps; with cosine, the lr then decays to min_lr at `steps`
  bool cosine = false;      // false: constant lr after the warmup (the paper: constant 1e-4, no warmup)
  double min_lr = 0.0;
  double clip = 1.0;
  double weight_decay = 0.05;
  std::int64_t checkpoint_every = 0;  // 0: only at the end; needs out_dir
  std::uint64_t seed = 0;
  std::filesystem::path out_dir;  // empty: no checkpoint, no log
  training::communicator* comm = nullptr;  // the ranks that share each batch; null: this process alone
};

struct train_step_log {
  std::int64_t step = 0;  // 1-based
  double loss = 0, lr = 0, grad_norm = 0;
  std::int64_t tokens = 0;  // cumulative predicted tokens
  double seconds = 0;       // cumulative training time
  double flops = 0;         // cumulative training FLOPs
};

inline std::filesystem::path trainer_checkpoint_path(const std::filesystem::path& dir) {
  return dir / "checkpoint.safetensors";
}

// Full FLOP counts (forward and training) of one image for each model.
inline flop_count llamagen_flops(const llamagen_config& c) {
  const ar_shape s{c.block.dim, c.block.heads, c.block.ffn_hidden, c.vocab, c.conditional ? c.classes + 1 : 0,
                   c.slots()};
  return llamagen_full_flops(s, static_cast<int>(c.layers));
}

inline flop_count dpar_flops(const dpar_config& c, std::int64_t patches) {
  const ar_shape s{c.block.dim, c.block.heads, c.block.ffn_hidden, c.vocab, c.classes + 1, c.tokens};
  const dpar_split split{static_cast<int>(c.encoder_layers), static_cast<int>(c.global_layers),
                         static_cast<int>(c.decoder_layers)};
  return dpar_full_flops(s, split, static_cast<double>(patches));
}

inline double llamagen_training_flops(const llamagen_config& c) { return llamagen_flops(c).training; }
inline double dpar_training_flops(const dpar_config& c, std::int64_t patches) { return dpar_flops(c, patches).training; }

template <backend B, class Model>
  requires transformer_ops<B, float>
class trainer {
  static constexpr bool is_dpar = std::is_same_v<Model, dpar_model<B, float>>;

 public:
  // DPAR needs the token file's entropies and the patcher; the LlamaGen models ignore both.
  trainer(Model& model, const data::token_file& data, const train_config& cfg, const entropy_file* entropies = nullptr,
          const patcher_config& patcher = {})
      : model_(model), data_(data), cfg_(cfg), entropies_(entropies), patcher_(patcher),
        opt_(model.layout(), {.beta1 = 0.9, .beta2 = 0.95, .eps = 1e-8, .weight_decay = cfg.weight_decay}),
        schedule_(make_schedule(cfg)), order_(data.count(), cfg.batch, cfg.seed),
        comm_(cfg.comm ? *cfg.comm : training::single_process()) {
    const auto& mc = model.config();
    check(cfg.steps >= 1, "trainer", "steps ", cfg.steps, " must be positive");
    training::check_divisible_batch(comm_, cfg.batch, "trainer");
    check(data.tokens_per_image() == mc.tokens && data.grid_w == mc.row_width && data.codebook_size <= mc.vocab,
          "trainer", "token file of ", data.grid_h, "x", data.grid_w, " grids over ", data.codebook_size,
          " codes does not fit the model (", mc.tokens, " tokens in rows of ", mc.row_width, ", vocab ", mc.vocab, ")");
    for (const auto label : data.labels)
      check(!conditional() || label < mc.classes, "trainer", "label ", static_cast<int>(label), " is not below the model's ", mc.classes,
            " classes");
    if constexpr (is_dpar) {
      const bool needs_entropy =
          patcher.mode == patching_mode::entropy || patcher.mode == patching_mode::entropy_row_boundary;
      check(!needs_entropy || entropies != nullptr, "trainer", "entropy patching needs an entropy file");
      if (entropies) check_entropy_matches(*entropies, data, "trainer");
    }
  }

  std::int64_t step() const { return opt_.steps(); }
  const std::vector<train_step_log>& history() const { return history_; }
  const train_config& config() const { return cfg_; }

  // Continues from out_dir's checkpoint when there is one; returns the step it resumed at (0: fresh).
  std::int64_t resume(B& be) {
    if (cfg_.out_dir.empty() || !std::filesystem::exists(trainer_checkpoint_path(cfg_.out_dir))) return 0;
    const auto path = trainer_checkpoint_path(cfg_.out_dir);
    const auto meta = training::load_checkpoint(be, path, model_.params(), opt_);
    check(metadata_detail::field(meta, "model.kind") == model_metadata().at("model.kind"), "trainer::resume",
          path.string(), " holds a ", metadata_detail::field(meta, "model.kind"), " model, this run trains ",
          model_metadata().at("model.kind"));
    order_.seek(metadata_detail::int_field(meta, "data.epoch"), metadata_detail::int_field(meta, "data.position"));
    tokens_ = metadata_detail::int_field(meta, "train.tokens");
    seconds_ = metadata_detail::real_field(meta, "train.seconds");
    flops_ = metadata_detail::real_field(meta, "train.flops");
    history_ = read_csv(cfg_.out_dir / "loss.csv", opt_.steps());
    return opt_.steps();
  }

  // Trains up to step `until` (cfg.steps when negative), calling on_step after every step.
  void run(B& be, const std::function<void(const train_step_log&)>& on_step = {}, std::int64_t until = -1) {
    const std::int64_t last = until < 0 ? cfg_.steps : std::min(until, cfg_.steps);
    if (!ranks_agree_) join_ranks(be);
    while (opt_.steps() < last) {
      const auto start = std::chrono::steady_clock::now();
      const std::int64_t s = opt_.steps();
      const auto indices = order_.next();
      const auto [first, end] = training::local_rows(comm_, cfg_.batch);
      const std::vector<std::int64_t> shard(indices.begin() + first, indices.begin() + end);
      // Each rank its own dropout masks; rank 0's are those of a single process.
      const std::uint64_t rank_seed = static_cast<std::uint64_t>(comm_.rank()) * 0x9E3779B97F4A7C15ull;
      const step_noise noise{.training = true,
                             .seed = (cfg_.seed * 1000003ull + static_cast<std::uint64_t>(s) + 1) ^ rank_seed};
      model_.grads().zero();
      double step_flops = 0;
      double loss = 0;
      if constexpr (is_dpar) {
        const auto batch = make_dpar_batch(grid_batch(shard), patch_lengths_of(shard));
        for (const auto& len : batch.lengths)
          step_flops += dpar_training_flops(model_.config(), static_cast<std::int64_t>(len.size()));
        loss = model_.forward(be, batch, noise);
      } else {
        step_flops = llamagen_training_flops(model_.config()) * static_cast<double>(shard.size());
        loss = model_.forward(be, grid_batch(shard), noise);
      }
      model_.backward(be);
      training::average_gradients(be, comm_, model_.grads());
      if (comm_.size() > 1) {  // the global batch's mean loss and FLOPs, in one call
        double totals[2] = {loss / comm_.size(), step_flops};
        comm_.allreduce_sum(totals, 2);
        loss = totals[0];
        step_flops = totals[1];
      }
      const double norm = training::clip_grad_norm(be, model_.grads(), cfg_.clip);
      const double lr = schedule_.at(s);
      opt_.step(be, model_.params(), model_.grads(), lr);
      be.synchronize();
      seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      tokens_ += static_cast<std::int64_t>(indices.size()) * predicted_per_image();
      flops_ += step_flops;
      history_.push_back({s + 1, loss, lr, norm, tokens_, seconds_, flops_});
      if (on_step) on_step(history_.back());
      const bool due = cfg_.checkpoint_every > 0 && (s + 1) % cfg_.checkpoint_every == 0;
      if (!cfg_.out_dir.empty() && (due || s + 1 == cfg_.steps) && comm_.is_root()) save(be);
      if (s + 1 == cfg_.steps && comm_.size() > 1) training::check_identical_parameters(be, comm_, model_.params(), "trainer");
    }
  }

  // loss.csv and the checkpoint in out_dir. The checkpoint is written last and commits the
  // step: a kill before it leaves a loss.csv ahead of the checkpoint, whose extra rows resume drops.
  void save(B& be) {
    check(!cfg_.out_dir.empty(), "trainer::save", "no output directory");
    std::filesystem::create_directories(cfg_.out_dir);
    auto meta = model_metadata();
    meta["data.epoch"] = std::to_string(order_.epoch());
    meta["data.position"] = std::to_string(order_.position());
    meta["data.seed"] = std::to_string(cfg_.seed);
    meta["train.batch"] = std::to_string(cfg_.batch);
    meta["train.tokens"] = std::to_string(tokens_);
    meta["train.seconds"] = shortest_text(seconds_);
    meta["train.flops"] = shortest_text(flops_);
    write_csv(cfg_.out_dir / "loss.csv");
    training::save_checkpoint(be, trainer_checkpoint_path(cfg_.out_dir), model_.params(), opt_, meta);
  }

  metadata_map model_metadata() const {
    if constexpr (is_dpar) return to_metadata(model_.config(), patcher_);
    else return to_metadata(model_.config());
  }

 private:
  // Before the first step of a data-parallel run: every rank runs the same model, recipe, data and step, and
  // starts from rank 0's parameters.
  void join_ranks(B& be) {
    ranks_agree_ = true;
    if (comm_.size() == 1) return;
    auto settings = model_metadata();
    settings["train.steps"] = std::to_string(cfg_.steps);
    settings["train.batch"] = std::to_string(cfg_.batch);
    settings["train.lr"] = shortest_text(cfg_.lr);
    settings["train.schedule"] = std::to_string(cfg_.warmup) + (cfg_.cosine ? " cosine " : " constant ") +
                                 shortest_text(cfg_.min_lr);
    settings["train.clip"] = shortest_text(cfg_.clip);
    settings["train.weight_decay"] = shortest_text(cfg_.weight_decay);
    settings["train.checkpoint_every"] = std::to_string(cfg_.checkpoint_every);
    settings["data.seed"] = std::to_string(cfg_.seed);
    settings["data.images"] = std::to_string(data_.count());
    auto h = training::fnv1a(data_.tokens.data(), data_.tokens.size() * sizeof(std::uint16_t));
    h = training::fnv1a(data_.labels.data(), data_.labels.size(), h);
    if (entropies_) h = training::fnv1a(entropies_->values.data(), entropies_->values.size() * sizeof(float), h);
    settings["data.checksum"] = std::to_string(h);
    settings["resumed.step"] = std::to_string(opt_.steps());
    training::start_together(be, comm_, "trainer", settings, model_.params());
  }

  bool conditional() const {
    if constexpr (is_dpar) return true;
    else return model_.config().conditional;
  }
  std::int64_t predicted_per_image() const {
    if constexpr (is_dpar) return model_.config().tokens;
    else return model_.config().slots();
  }

  static training::lr_schedule make_schedule(const train_config& c) {
    check(c.lr > 0 && c.warmup >= 0 && c.warmup < c.steps, "trainer", "lr ", c.lr, " must be positive and warmup ",
          c.warmup, " below steps ", c.steps);
    if (c.cosine) return training::lr_schedule::warmup_cosine(c.lr, c.warmup, c.steps, c.min_lr);
    if (c.warmup > 0)  // warmup then constant: a cosine whose floor is the peak
      return training::lr_schedule::warmup_cosine(c.lr, c.warmup, c.steps, c.lr);
    return training::lr_schedule::constant(c.lr);
  }

  token_grid_batch grid_batch(const std::vector<std::int64_t>& indices) const {
    token_grid_batch g{data_.tokens_per_image(), data_.grid_w, {}, {}};
    for (const auto i : indices) {
      const std::uint16_t* img = data_.image(i);
      g.tokens.insert(g.tokens.end(), img, img + data_.tokens_per_image());
      g.labels.push_back(data_.labels[static_cast<std::size_t>(i)]);
    }
    return g;
  }

  std::vector<std::vector<std::int32_t>> patch_lengths_of(const std::vector<std::int64_t>& indices) const {
    std::vector<std::vector<std::int32_t>> out;
    const std::int64_t t = data_.tokens_per_image();
    const std::vector<float> none(static_cast<std::size_t>(t), 0.0f);
    for (const auto i : indices)
      out.push_back(patch_lengths(patcher_, entropies_ ? entropies_->image(i) : std::span<const float>(none), t));
    return out;
  }

  void write_csv(const std::filesystem::path& path) const {
    std::ostringstream csv;
    csv << "step,loss,lr,grad_norm,tokens,seconds,flops\n";
    csv.precision(17);  // round-trips doubles: a resumed run reads its earlier rows back
    for (const auto& h : history_)
      csv << h.step << "," << h.loss << "," << h.lr << "," << h.grad_norm << "," << h.tokens << "," << h.seconds << ","
          << h.flops << "\n";
    const std::string text = csv.str();
    write_file_atomically(path, [&](file_sink& sink) { sink.write(text.data(), text.size()); });
  }

  // The log of a resumed run: rows 1..up_to, the checkpoint's step (later rows belong to a lost run).
  static std::vector<train_step_log> read_csv(const std::filesystem::path& path, std::int64_t up_to) {
    std::vector<train_step_log> rows;
    std::ifstream in(path);
    std::string line;
    if (!in || !std::getline(in, line)) return rows;
    while (std::getline(in, line)) {
      train_step_log h;
      char comma = 0;
      std::istringstream s(line);
      s >> h.step >> comma >> h.loss >> comma >> h.lr >> comma >> h.grad_norm >> comma >> h.tokens >> comma >>
          h.seconds >> comma >> h.flops;
      check(static_cast<bool>(s), "trainer::resume", path.string(), ": cannot parse line '", line, "'");
      if (h.step <= up_to) rows.push_back(h);
    }
    for (std::size_t i = 0; i < rows.size(); ++i)
      check(rows[i].step == static_cast<std::int64_t>(i) + 1, "trainer::resume", path.string(), ": row ", i + 1,
            " is for step ", rows[i].step);
    check(static_cast<std::int64_t>(rows.size()) == up_to, "trainer::resume", path.string(), " logs ", rows.size(),
          " steps, the checkpoint is at step ", up_to, " (a loss log behind its checkpoint)");
    return rows;
  }

  Model& model_;
  const data::token_file& data_;
  train_config cfg_;
  const entropy_file* entropies_;
  patcher_config patcher_;
  training::adamw_optimizer<B, float> opt_;
  training::lr_schedule schedule_;
  token_order order_;
  training::communicator& comm_;
  bool ranks_agree_ = false;
  std::vector<train_step_log> history_;
  std::int64_t tokens_ = 0;
  double seconds_ = 0, flops_ = 0;
};

}  // namespace patchzoo::dpar
