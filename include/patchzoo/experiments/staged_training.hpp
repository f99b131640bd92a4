#pragma once
// Training with evaluations along the way: the run is cut into `evaluations` stages of equal step count;
// each stage resumes the previous stage's checkpoint (exact resume, dpar/trainer.hpp) and ends with an
// evaluation. With a constant learning rate after warmup, the stages train exactly what one
// uninterrupted run would.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "patchzoo/experiments/sample_evaluation.hpp"
#include "patchzoo/pipeline/model_training.hpp"

namespace patchzoo::dpar::experiment {

struct curve_point {
  std::int64_t step = 0;
  double epoch = 0;        // step * batch / training images
  double train_flops = 0;  // cumulative, full convention (dpar/flops.hpp)
  double train_seconds = 0;
  double loss = 0;         // mean training loss over the stage's last (up to) 50 steps
  eval::sample_metrics metrics;
  double global_steps_per_image = 0, mean_patch_length = 1, sample_seconds = 0;
};

struct model_run {
  std::string name;
  std::filesystem::path checkpoint;
  std::int64_t parameters = 0;
  std::vector<curve_point> curve;
  evaluation last;  // the final evaluation, with its images
};

using train_stage = std::function<pipeline::training_summary(const pipeline::train_recipe&, pipeline::existing_checkpoint)>;
using evaluate_checkpoint_fn = std::function<evaluation(const std::filesystem::path&)>;
using log_fn = std::function<void(const std::string&)>;

inline model_run train_and_evaluate(const std::string& name, const pipeline::train_recipe& recipe,
                                    std::int64_t evaluations, std::int64_t training_images, const train_stage& train,
                                    const evaluate_checkpoint_fn& evaluate, const log_fn& log) {
  check(evaluations >= 1 && evaluations <= recipe.steps, "train_and_evaluate", name, ": ", evaluations,
        " evaluations for ", recipe.steps, " steps");
  model_run run;
  run.name = name;
  for (std::int64_t k = 1; k <= evaluations; ++k) {
    auto stage = recipe;
    stage.steps = recipe.steps * k / evaluations;
    const auto s = train(stage, k > 1 ? pipeline::existing_checkpoint::resume : pipeline::existing_checkpoint::refuse);
    run.checkpoint = s.checkpoint;
    run.parameters = s.parameters;
    auto e = evaluate(s.checkpoint);
    curve_point p;
    p.step = s.steps;
    p.epoch = static_cast<double>(s.steps * recipe.batch) / static_cast<double>(training_images);
    p.train_flops = s.train_flops;
    p.train_seconds = s.seconds;
    p.loss = s.mean_loss_last_50;
    p.metrics = e.metrics;
    p.global_steps_per_image = e.global_steps_per_image;
    p.mean_patch_length = e.mean_patch_length;
    p.sample_seconds = e.sample_seconds;
    run.curve.push_back(p);
    if (log)
      log(name + ": step " + std::to_string(p.step) + " loss " + std::to_string(p.loss) + " FID-FMNIST " +
          std::to_string(p.metrics.fid) + " (" + std::to_string(e.metrics.samples) + " samples, " +
          std::to_string(static_cast<int>(e.sample_seconds)) + " s sampling)");
    run.last = std::move(e);
  }
  return run;
}

}  // namespace patchzoo::dpar::experiment
