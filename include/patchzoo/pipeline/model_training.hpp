#pragma once
// What the entropy model, the baseline and DPAR share when a pipeline trains them: one recipe and one
// summary, so that "the same recipe" is one value passed to every model.
//   train_recipe r{.steps = 300, .batch = 32, .lr = 1e-3, .warmup = 20, .seed = 1};
//   training_hooks hooks{.on_start = [](std::int64_t resumed_at, std::int64_t parameters) {...},
//                        .on_step = [](const dpar::train_step_log&) {...}};
//   training_summary s = run_training(be, model, tokens, r, out_dir, existing, "dpar train", hooks[, &ent, patcher]);
//   s.json()  -> the keys `patchzoo entropy train` / `dpar train` report
// run_training refuses an out_dir that already holds a checkpoint unless `resume`; an empty out_dir trains
// in memory (no checkpoint, no log).
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "patchzoo/dpar/flops.hpp"
#include "patchzoo/dpar/trainer.hpp"
#include "patchzoo/image/plot.hpp"

namespace patchzoo::pipeline {

struct train_recipe {
  std::int64_t steps = 2000, batch = 32;
  double lr = 1e-3;
  std::int64_t warmup = 0;
  bool cosine = false;  // false: constant lr after the warmup; true: cosine to 10 % of lr
  double dropout = 0.1;  // token, label (conditional models) and residual/FFN dropout
  std::int64_t checkpoint_every = 500;  // 0: only at the end
  std::uint64_t seed = 0;  // weights, data order and dropout masks
  // The ranks of a data-parallel run, which share each batch (train/communicator.hpp); null: this process.
  training::communicator* comm = nullptr;

  dpar::train_config config(const std::filesystem::path& out_dir) const {
    return {.steps = steps, .batch = batch, .lr = lr, .warmup = warmup, .cosine = cosine, .min_lr = 0.1 * lr,
            .clip = 1.0, .weight_decay = 0.05, .checkpoint_every = checkpoint_every, .seed = seed, .out_dir = out_dir,
            .comm = comm};
  }
};

// LlamaGen's block with FFN width round_up_256(8 dim / 3) when ffn is 0.
inline nn::block_config transformer_block(std::int64_t dim, std::int64_t heads, std::int64_t ffn) {
  return {.dim = dim, .heads = heads, .ffn_hidden = ffn > 0 ? ffn : dpar::round_up_256_ffn(dim), .norm_eps = 1e-5f};
}

struct training_hooks {
  std::function<void(std::int64_t resumed_at, std::int64_t parameters)> on_start;
  std::function<void(const dpar::train_step_log&)> on_step;
};

struct training_summary {
  std::int64_t parameters = 0, steps = 0, resumed_at = 0, batch = 0, images = 0;
  double final_loss = 0, mean_loss_last_50 = 0;
  double seconds = 0;      // cumulative training time (a resumed run includes the earlier part)
  double train_flops = 0;  // cumulative, full convention (dpar/flops.hpp)
  std::filesystem::path checkpoint, loss_csv, loss_png;  // empty when trained in memory
  std::vector<dpar::train_step_log> history;

  nlohmann::ordered_json json() const {
    nlohmann::ordered_json j;
    j["parameters"] = parameters;
    j["steps"] = steps;
    j["resumed_at"] = resumed_at;
    j["batch"] = batch;
    j["images"] = images;
    j["final_loss"] = final_loss;
    j["mean_loss_last_50"] = mean_loss_last_50;
    j["seconds"] = seconds;
    j["train_flops"] = train_flops;
    j["checkpoint"] = checkpoint.string();
    j["loss_csv"] = loss_csv.string();
    j["loss_png"] = loss_png.string();
    return j;
  }
};

inline void write_training_loss_plot(const std::filesystem::path& path, const std::string& title,
                                    const std::vector<dpar::train_step_log>& history) {
  image::line_plot p{title, "step", "loss (nats/token)", {{"train loss", {}, {}}}};
  for (const auto& h : history) {
    p.series[0].x.push_back(static_cast<double>(h.step));
    p.series[0].y.push_back(h.loss);
  }
  image::write_plot_png(path, p);
}

// What a training step does with a checkpoint already in its output folder: continue it, or stop with an
// error rather than train over it.
enum class existing_checkpoint { refuse, resume };

template <backend B, class Model>
training_summary run_training(B& be, Model& model, const data::token_file& data, const train_recipe& recipe,
                              const std::filesystem::path& out_dir, existing_checkpoint existing, const char* where,
                              const training_hooks& hooks, const dpar::entropy_file* entropies = nullptr,
                              const dpar::patcher_config& patcher = {}) {
  check(existing == existing_checkpoint::resume || out_dir.empty() || !std::filesystem::exists(dpar::trainer_checkpoint_path(out_dir)), where,
        out_dir.string(), " already holds a checkpoint: pass --resume to continue it or choose another --out");
  dpar::trainer<B, Model> trainer(model, data, recipe.config(out_dir), entropies, patcher);
  const std::int64_t resumed = trainer.resume(be);
  if (hooks.on_start) hooks.on_start(resumed, model.layout().total());
  trainer.run(be, hooks.on_step);

  training_summary s;
  s.history = trainer.history();
  check(!s.history.empty(), where, "the run in ", out_dir.string(), " has no logged step");
  const auto& h = s.history;
  const std::size_t tail = std::min<std::size_t>(50, h.size());
  for (std::size_t i = h.size() - tail; i < h.size(); ++i) s.mean_loss_last_50 += h[i].loss / static_cast<double>(tail);
  s.parameters = model.layout().total();
  s.steps = trainer.step();
  s.resumed_at = resumed;
  s.batch = recipe.batch;
  s.images = data.count();
  s.final_loss = h.back().loss;
  s.seconds = h.back().seconds;
  s.train_flops = h.back().flops;
  if (!out_dir.empty() && training::is_root(recipe.comm)) {  // rank 0 writes the files of a data-parallel run
    s.checkpoint = dpar::trainer_checkpoint_path(out_dir);
    s.loss_csv = out_dir / "loss.csv";
    s.loss_png = out_dir / "loss.png";
    write_training_loss_plot(s.loss_png, trainer.model_metadata().at("model.kind") + " training", h);
  }
  return s;
}

}  // namespace patchzoo::pipeline
