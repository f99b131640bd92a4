#pragma once
// Training and scoring the 16x16 ablation rows (ablations.hpp): every DPAR variant gets the same recipe
// at the ablation budget; Table 6 re-samples the reference DPAR and the static model with a changed
// patcher, without retraining.
#include <cctype>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "patchzoo/experiments/ablations.hpp"
#include "patchzoo/experiments/experiment_results.hpp"
#include "patchzoo/experiments/staged_training.hpp"
#include "patchzoo/pipeline/dpar_step.hpp"
#include "patchzoo/pipeline/entropy_step.hpp"

namespace patchzoo::dpar::experiment {

// One grid's tokens and the main entropy model's outputs.
struct grid_data {
  data::token_file tokens;
  entropy_file entropies;
  std::filesystem::path entropy_checkpoint;
  double threshold = 0;  // fitted main theta
};

struct trained_entropies {
  entropy_file entropies;
  std::filesystem::path checkpoint;
  double mean_nll = 0;
};

// Trains an entropy model into dir and computes the entropies of every image with it.
template <backend B>
  requires transformer_ops<B, float>
trained_entropies train_entropies(B& be, const data::token_file& tokens, const pipeline::entropy_model_options& o,
                                  const pipeline::train_recipe& recipe, const std::filesystem::path& dir) {
  const auto s = pipeline::train_entropy_model(be, tokens, o, recipe, dir, pipeline::existing_checkpoint::refuse);
  auto model = load_llamagen(be, s.checkpoint);
  auto pass = pipeline::compute_entropies(be, *model, tokens, 64);
  return {std::move(pass.entropies), s.checkpoint, pass.mean_nll};
}

// "entropy + P_max" -> "entropy_p_max": a directory name.
inline std::string slug(const std::string& s) {
  std::string out;
  for (const char ch : s) {
    if (std::isalnum(static_cast<unsigned char>(ch))) out += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    else if (!out.empty() && out.back() != '_') out += '_';
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out;
}

template <backend B>
  requires transformer_ops<B, float> && vq::vq_ops<B, float>
std::vector<ablation_row> run_ablations(B& be, const experiment_config& c, const grid_data& d, evaluation_context<B>& ctx,
                                        const std::filesystem::path& dir, const log_fn& log) {
  const double step = threshold_step_nats(d.tokens.codebook_size);
  auto recipe = c.recipe;
  recipe.steps = c.ablation_steps;
  recipe.checkpoint_every = 0;
  auto entropy_recipe = recipe;
  entropy_recipe.steps = c.recipe.steps;  // entropy models of every size get the main model's budget
  std::map<entropy_model_size, trained_entropies> entropies;
  std::map<std::string, ablation_row> trained;                  // by setting
  std::map<std::string, std::filesystem::path> checkpoints;     // by setting
  std::vector<ablation_row> rows;
  const auto score = [&](const std::filesystem::path& ckpt, const std::filesystem::path& entropy_ckpt,
                         const pipeline::patcher_overrides& change) {
    return evaluate_checkpoint(be, ctx, ckpt, entropy_ckpt, c.ablation_samples, change);
  };

  {  // context row: the baseline at the ablation budget
    const auto s = pipeline::train_baseline(be, d.tokens, c.model, recipe, dir / "baseline", pipeline::existing_checkpoint::refuse);
    const auto e = score(s.checkpoint, {}, {});
    rows.push_back({"3", "LlamaGen baseline (no patches)", "-", std::nan(""), 0, 1.0, 1.0, s.train_flops, s.parameters,
                    e.metrics});
    if (log) log("ablation baseline: FID-FMNIST " + std::to_string(e.metrics.fid));
  }
  for (const auto& v : ablation_variants(c)) {
    ablation_row row;
    if (!v.reuse.empty()) {
      row = trained.at(v.reuse);
    } else {
      const entropy_file* ent = &d.entropies;
      std::filesystem::path ent_ckpt = d.entropy_checkpoint;
      if (v.entropy != entropy_model_size::main) {
        if (!entropies.count(v.entropy))
          entropies.emplace(v.entropy, train_entropies(be, d.tokens, entropy_model_of(c, v.entropy), entropy_recipe,
                                                       dir / ("entropy_model_" + slug(v.setting))));
        ent = &entropies.at(v.entropy).entropies;
        ent_ckpt = entropies.at(v.entropy).checkpoint;
      }
      pipeline::patcher_options po;
      po.mode = v.mode;
      po.threshold = v.fit_threshold ? -1.0 : d.threshold + v.threshold_step * step;
      po.target = c.grids.front().target_length;
      po.max_patch = v.max_patch;
      po.static_length = c.grids.front().target_length;
      const auto patching = pipeline::make_patcher(d.tokens, ent, po);
      auto model = c.model;
      model.positions = v.positions;
      if (v.encoder_layers > 0) model.encoder_layers = v.encoder_layers;
      if (v.decoder_layers > 0) model.decoder_layers = v.decoder_layers;
      const auto run_dir = dir / ("table" + slug(v.table + " " + v.setting));
      const auto s = pipeline::train_dpar(be, d.tokens, ent, patching.patcher, model, recipe, run_dir, pipeline::existing_checkpoint::refuse);
      const auto e = score(s.checkpoint, ent_ckpt, {});
      row.threshold = pipeline::uses_entropy(v.mode) ? patching.patcher.threshold : std::nan("");  // static: no theta
      row.max_patch = patching.patcher.max_patch_length;
      row.train_mean_length = patching.mean_length;
      row.sample_mean_length = e.mean_patch_length;
      row.train_flops = s.train_flops;
      row.parameters = s.parameters;
      row.metrics = e.metrics;
      checkpoints[v.setting] = s.checkpoint;
      if (log) log("ablation table " + v.table + " '" + v.setting + "': FID-FMNIST " + std::to_string(e.metrics.fid) +
                   ", mean patch length " + std::to_string(patching.mean_length));
    }
    row.table = v.table;
    row.setting = v.setting;
    row.paper = std::isnan(v.paper_fid) ? "-" : std::to_string(v.paper_fid).substr(0, 4);
    trained[v.setting] = row;
    rows.push_back(row);
  }
  // Table 6: the reference DPAR and the static model, re-sampled with a changed patcher.
  for (const auto& s : scaling_settings(c.grids.front().target_length)) {
    const bool dpar_row = s.model == "DPAR";
    const auto& source = dpar_row ? std::string("entropy + P_max + row reset") : std::string("static, mean length matched");
    pipeline::patcher_overrides change;
    if (dpar_row && s.threshold_step != 0) change.threshold = d.threshold + s.threshold_step * step;
    if (!dpar_row && s.static_length > 0) change.static_length = s.static_length;
    const auto e = score(checkpoints.at(source), d.entropy_checkpoint, change);
    ablation_row row = trained.at(source);
    row.table = "6";
    row.setting = s.model + ": " + s.setting;
    row.paper = s.paper;
    if (dpar_row) row.threshold = change.threshold >= 0 ? change.threshold : d.threshold;
    row.sample_mean_length = e.mean_patch_length;
    row.metrics = e.metrics;
    rows.push_back(row);
    if (log) log("table 6 '" + row.setting + "': FID-FMNIST " + std::to_string(e.metrics.fid) + ", sampled mean length " +
                 std::to_string(e.mean_patch_length));
  }
  return rows;
}

}  // namespace patchzoo::dpar::experiment
