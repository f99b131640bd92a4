#pragma once
// The 16x16 ablations of the DPAR paper as data: each row is one DPAR model (or one sampling
// setting of a trained model) with the paper's FID beside it where it is known.
//   Table 3 patching strategy, Table 4 threshold, Table 5 P_max, Table 6 inference-time scaling,
//   Table 9 global positions, Table 10 encoder/decoder split, and the entropy-model size (no paper table).
// Thresholds: the paper sweeps theta in steps of 0.1 nats around 7.8 with a 16384-code vocabulary
// (max entropy ln 16384); our vocabulary is smaller, so steps scale by ln(codebook) / ln(16384).
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "patchzoo/experiments/experiment_config.hpp"

namespace patchzoo::dpar::experiment {

inline constexpr double no_paper_value = std::numeric_limits<double>::quiet_NaN();

// Which entropy model a variant's patches come from.
enum class entropy_model_size { main, small, large };

struct ablation_variant {
  std::string table;    // "3", "4", "5", "9", "10", "entropy"
  std::string setting;  // the row label
  double paper_fid = no_paper_value;
  patching_mode mode = patching_mode::entropy_row_boundary;
  double threshold_step = 0;  // theta = fitted main theta + threshold_step * paper-to-ours scale * 0.1 nats
  bool fit_threshold = false; // theta fitted to the grid's target mean length (static length = target)
  int max_patch = 4;
  global_position positions = global_position::dynamic_4d;
  std::int64_t encoder_layers = -1, decoder_layers = -1;  // -1: the main model's
  entropy_model_size entropy = entropy_model_size::main;
  std::string reuse;  // the setting of an identical earlier row whose model is reused ("" = train)
};

// Every trained variant. The reference row ("entropy + P_max + row reset") is the main patcher.
inline std::vector<ablation_variant> ablation_variants(const experiment_config& c) {
  const std::string ref = "entropy + P_max + row reset";
  std::vector<ablation_variant> v;
  v.push_back({.table = "3", .setting = "static, mean length matched", .paper_fid = 3.58,
               .mode = patching_mode::static_length, .fit_threshold = true, .max_patch = 0, .reuse = ""});
  v.push_back({.table = "3", .setting = "entropy only", .paper_fid = 3.91, .mode = patching_mode::entropy, .max_patch = 0, .reuse = ""});
  v.push_back({.table = "3", .setting = "entropy + P_max", .paper_fid = 3.45, .mode = patching_mode::entropy, .reuse = ""});
  v.push_back({.table = "3", .setting = ref, .paper_fid = 3.32, .reuse = ""});
  const double paper_theta[] = {7.6, 7.7, 7.8, 7.9, 8.0}, theta_fid[] = {3.36, 3.41, 3.32, 3.46, 3.43};
  for (int k = 0; k < 5; ++k)
    v.push_back({.table = "4", .setting = "theta step " + std::to_string(k - 2) + " (paper " +
                                          std::to_string(paper_theta[k]).substr(0, 3) + ")",
                 .paper_fid = theta_fid[k], .threshold_step = static_cast<double>(k - 2), .reuse = k == 2 ? ref : ""});
  const int pmax[] = {1, 2, 4, 6, 8, 16};
  const double pmax_fid[] = {3.73, 3.42, 3.32, 3.49, 3.41, 3.61};
  for (int k = 0; k < 6; ++k)
    v.push_back({.table = "5", .setting = "P_max " + std::to_string(pmax[k]), .paper_fid = pmax_fid[k],
                 .max_patch = pmax[k], .reuse = pmax[k] == 4 ? ref : ""});
  v.push_back({.table = "9", .setting = "1-D slot RoPE", .paper_fid = 3.32, .positions = global_position::slot_1d, .reuse = ""});
  v.push_back({.table = "9", .setting = "dynamic 3-d", .paper_fid = 3.42, .positions = global_position::dynamic_3d, .reuse = ""});
  v.push_back({.table = "9", .setting = "dynamic 4-d", .paper_fid = 3.31, .reuse = ref});
  const std::int64_t local = c.model.encoder_layers + c.model.decoder_layers;
  for (std::int64_t e = 1; e < local; ++e) {
    const bool main = e == c.model.encoder_layers;
    v.push_back({.table = "10", .setting = "E" + std::to_string(e) + "D" + std::to_string(local - e),
                 .paper_fid = main && e == 1 ? 3.32 : no_paper_value, .encoder_layers = e,
                 .decoder_layers = local - e, .reuse = main ? ref : ""});
  }
  v.push_back({.table = "entropy", .setting = "smaller entropy model", .fit_threshold = true,
               .entropy = entropy_model_size::small, .reuse = ""});
  v.push_back({.table = "entropy", .setting = "main entropy model", .reuse = ref});
  v.push_back({.table = "entropy", .setting = "larger entropy model", .fit_threshold = true,
               .entropy = entropy_model_size::large, .reuse = ""});
  return v;
}

// The entropy models of the size ablation, derived from the main one.
inline pipeline::entropy_model_options entropy_model_of(const experiment_config& c, entropy_model_size s) {
  auto o = c.entropy_model;
  if (s == entropy_model_size::small) {
    o.dim = std::max<std::int64_t>(8, o.dim / 2);
    o.heads = std::max<std::int64_t>(1, o.heads / 2);
    o.layers = 1;
  } else if (s == entropy_model_size::large) {
    o.layers += 2;
  }
  return o;
}

// Table 6's inference-time settings. DPAR: theta raised at sampling (paper 7.8 -> 8.1 = +3 steps);
// the static model: its fixed length changed (the paper's exact lengths are not recovered).
struct scaling_setting {
  std::string model;    // "DPAR" or "static"
  std::string setting;
  std::string paper;           // the paper's FID, or a note where it has none
  double threshold_step = 0;  // DPAR
  double static_length = -1;  // static model; -1: as trained
};

inline std::vector<scaling_setting> scaling_settings(double target_length) {
  return {{"DPAR", "theta as trained", "3.32", 0, -1},
          {"DPAR", "theta + 3 steps (paper 8.1)", "3.39", 3, -1},
          {"DPAR", "theta + 6 steps", "3.31-3.39 over all thetas tried", 6, -1},
          {"DPAR", "theta + 10 steps", "3.31-3.39 over all thetas tried", 10, -1},
          {"static", "length as trained", "3.58", 0, -1},
          {"static", "length x 0.75", "25.59 at a changed length (which one: not recovered)", 0, 0.75 * target_length},
          {"static", "length x 1.5", "25.59 at a changed length (which one: not recovered)", 0, 1.5 * target_length},
          {"static", "length x 2", "25.59 at a changed length (which one: not recovered)", 0, 2.0 * target_length}};
}

// Our nats per paper threshold step of 0.1 nats.
inline double threshold_step_nats(std::int64_t codebook) {
  return 0.1 * std::log(static_cast<double>(codebook)) / std::log(16384.0);
}

}  // namespace patchzoo::dpar::experiment
