#pragma once
// What one experiment measured, per grid (baseline and DPAR convergence curves, costs, pictures) and
// per ablation row, with its JSON form (results.json).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "patchzoo/experiments/ablations.hpp"
#include "patchzoo/experiments/staged_training.hpp"

namespace patchzoo::dpar::experiment {

struct grid_result {
  int grid = 16;
  std::int64_t tokens = 256, codebook = 0;
  double tokenizer_fid = 0;  // FID-FMNIST of the tokenizer's reconstructions of the reference images: the floor
  double entropy_nll = 0;    // the entropy model's mean teacher-forced NLL on the training tokens (nats)
  double threshold = 0;      // theta fitted to the target mean length
  double target_length = 0, train_mean_length = 0;  // mean patch length on the training tokens
  pipeline::per_image_cost baseline_cost, dpar_cost;
  model_run baseline, dpar;
  std::vector<double> baseline_seed_fids, dpar_seed_fids;  // final FID-FMNIST per sampling seed (the first: the curve's)
  std::filesystem::path baseline_grid, dpar_grid, curve_epochs, curve_flops;
  std::vector<std::filesystem::path> entropy_maps;
};

struct ablation_row {
  std::string table, setting, paper;  // paper: the paper's FID or a note
  double threshold = 0;                // NaN for patchings without a threshold (baseline, static)
  int max_patch = 0;
  double train_mean_length = 0;  // on the training tokens
  double sample_mean_length = 0; // on the generated images
  double train_flops = 0;
  std::int64_t parameters = 0;
  eval::sample_metrics metrics;
};

struct experiment_result {
  std::vector<grid_result> grids;
  std::vector<ablation_row> ablations;  // Tables 3, 4, 5, 9, 10, entropy size, then Table 6 (table "6")
  std::int64_t ablation_steps = 0;
  double seconds = 0;
};

inline nlohmann::ordered_json to_json(const eval::sample_metrics& m) {
  return {{"samples", m.samples}, {"fid_fmnist", m.fid}, {"inception_score", m.inception_score},
          {"precision", m.precision}, {"recall", m.recall}, {"class_accuracy", m.class_accuracy}};
}

inline nlohmann::ordered_json to_json(const model_run& r) {
  nlohmann::ordered_json j{{"name", r.name}, {"parameters", r.parameters}, {"checkpoint", r.checkpoint.string()}};
  j["curve"] = nlohmann::ordered_json::array();
  for (const auto& p : r.curve)
    j["curve"].push_back({{"step", p.step}, {"epoch", p.epoch}, {"train_flops", p.train_flops},
                          {"train_seconds", p.train_seconds}, {"loss", p.loss}, {"metrics", to_json(p.metrics)},
                          {"global_steps_per_image", p.global_steps_per_image},
                          {"mean_patch_length", p.mean_patch_length}, {"sample_seconds", p.sample_seconds}});
  return j;
}

inline nlohmann::ordered_json to_json(const experiment_result& r) {
  nlohmann::ordered_json j;
  j["seconds"] = r.seconds;
  for (const auto& g : r.grids) {
    nlohmann::ordered_json gj{{"grid", g.grid},
                              {"tokens", g.tokens},
                              {"codebook", g.codebook},
                              {"tokenizer_fid_fmnist", g.tokenizer_fid},
                              {"entropy_nll", g.entropy_nll},
                              {"threshold", g.threshold},
                              {"target_mean_length", g.target_length},
                              {"train_mean_length", g.train_mean_length},
                              {"baseline_training_flops_per_image", g.baseline_cost.training_flops},
                              {"dpar_training_flops_per_image", g.dpar_cost.training_flops},
                              {"baseline_paper_macs_per_image", g.baseline_cost.paper_macs},
                              {"dpar_paper_macs_per_image", g.dpar_cost.paper_macs},
                              {"baseline", to_json(g.baseline)},
                              {"dpar", to_json(g.dpar)},
                              {"baseline_final_fid_per_sampling_seed", g.baseline_seed_fids},
                              {"dpar_final_fid_per_sampling_seed", g.dpar_seed_fids},
                              {"pictures", {g.baseline_grid.string(), g.dpar_grid.string(), g.curve_epochs.string(),
                                            g.curve_flops.string()}}};
    for (const auto& m : g.entropy_maps) gj["pictures"].push_back(m.string());
    j["grids"].push_back(gj);
  }
  j["ablation_steps"] = r.ablation_steps;
  j["ablations"] = nlohmann::ordered_json::array();
  for (const auto& a : r.ablations)
    j["ablations"].push_back({{"table", a.table}, {"setting", a.setting}, {"paper", a.paper},
                              {"threshold", a.threshold}, {"max_patch", a.max_patch},
                              {"train_mean_length", a.train_mean_length}, {"sample_mean_length", a.sample_mean_length},
                              {"train_flops", a.train_flops}, {"parameters", a.parameters},
                              {"metrics", to_json(a.metrics)}});
  return j;
}

}  // namespace patchzoo::dpar::experiment
