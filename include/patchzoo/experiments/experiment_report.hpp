#pragma once
// report.md of an experiment: the setup, the main comparison per grid with the paper's numbers beside
// ours, the convergence points, token reduction, the ablation tables and the pictures.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <utility>
#include <sstream>
#include <string>
#include <vector>

#include "patchzoo/experiments/experiment_config.hpp"
#include "patchzoo/experiments/experiment_results.hpp"
#include "patchzoo/io/atomic_file.hpp"
#include "patchzoo/util/mean_std.hpp"

namespace patchzoo::dpar::experiment {

namespace report_detail {

inline std::string num(double v, int digits = 2) {
  if (!std::isfinite(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

inline std::string metrics_cells(const eval::sample_metrics& m) {
  return num(m.fid) + " | " + num(m.inception_score) + " | " + num(m.precision) + " | " + num(m.recall) + " | " +
         num(100 * m.class_accuracy, 1) + " %";
}

// "mean +- sd (a, b, c)" of per-seed values; a single value alone.
inline std::string spread(const std::vector<double>& v) {
  if (v.size() < 2) return v.empty() ? "-" : num(v.front());
  const auto m = mean_std(v);
  std::string values;
  for (const double x : v) values += (values.empty() ? "" : ", ") + num(x);
  return num(m.mean) + " +- " + num(m.stddev) + " (" + values + ")";
}

inline std::string relative_link(const std::filesystem::path& p, const std::filesystem::path& base) {
  return std::filesystem::relative(p, base).generic_string();
}

}  // namespace report_detail

// The paper's main-table FIDs (its Table 2: ImageNet 256, Inception FID-50K) for the B models.
inline std::pair<std::string, std::string> paper_main_fid(int grid) {
  return grid == 16 ? std::pair<std::string, std::string>{"5.46 (LlamaGen-B, 256 px)", "3.98 (DPAR-B)"}
                    : std::pair<std::string, std::string>{"6.09 (LlamaGen-384-B)", "4.29 (DPAR-384-B)"};
}

inline std::string markdown_report(const experiment_config& c, const experiment_result& r,
                                   const std::filesystem::path& out, const std::string& command) {
  using namespace report_detail;
  std::ostringstream o;
  o << "# DPAR experiment (" << c.preset << ")\n\nCommand: `" << command << "`  \nWall time: " << num(r.seconds / 60, 1)
    << " min. FID-FMNIST is the Frechet distance of the zoo CNN's penultimate features (real: the first "
    << c.reference_images << " test images); it is not comparable with Inception FID.\n\n";
  o << "Models: width " << c.model.dim << ", " << c.model.heads << " heads; baseline " << c.model.layers
    << " layers, DPAR encoder " << c.model.encoder_layers << " / global " << c.model.global_layers << " / decoder "
    << c.model.decoder_layers << ". Recipe: " << c.recipe.steps << " steps of " << c.recipe.batch << " images, lr "
    << c.recipe.lr << " (warmup " << c.recipe.warmup << ", then constant), seed " << c.recipe.seed << ", "
    << c.train_images << " training images. Sampling: cfg " << c.sampling.cfg_scale << ", temperature "
    << c.sampling.temperature << ", " << c.eval_samples << " samples per evaluation (" << c.eval_samples / 10
    << " per class).\n\n";

  for (const auto& g : r.grids) {
    const auto paper = paper_main_fid(g.grid);
    o << "## " << g.grid << "x" << g.grid << " grid (" << g.tokens << " tokens, " << g.codebook << " codes)\n\n";
    o << "Tokenizer floor (FID-FMNIST of its reconstructions of the reference images): " << num(g.tokenizer_fid)
      << ". Entropy model NLL " << num(g.entropy_nll, 3) << " nats; theta " << num(g.threshold, 3)
      << " nats fitted to mean patch length " << num(g.target_length) << " (measured on the training tokens: "
      << num(g.train_mean_length, 3) << ").\n\n";
    o << "| model | params | train GFLOP/img | steps | epochs | FID-FMNIST | IS | precision | recall | class acc | "
         "global steps/img | paper FID (ImageNet, Inception) |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n";
    for (const auto* run : {&g.baseline, &g.dpar}) {
      const bool is_dpar = run == &g.dpar;
      const auto& p = run->curve.back();
      o << "| " << run->name << " | " << run->parameters << " | "
        << num((is_dpar ? g.dpar_cost : g.baseline_cost).training_flops * 1e-9, 3) << " | " << p.step << " | "
        << num(p.epoch) << " | " << metrics_cells(p.metrics) << " | " << num(p.global_steps_per_image, 1) << " | "
        << (is_dpar ? paper.second : paper.first) << " |\n";
    }
    o << "\nToken reduction of the global sequence (T / M = mean patch length): " << num(g.train_mean_length, 2) << "x on training images (paper "
      << (g.grid == 16 ? "1.81x" : "2.06x") << "), " << num(g.dpar.curve.back().mean_patch_length, 2)
      << "x on the final samples.\n\n";
    if (g.dpar_seed_fids.size() > 1)
      o << "Final FID-FMNIST over " << g.dpar_seed_fids.size() << " sampling seeds (mean +- sd): baseline "
        << spread(g.baseline_seed_fids) << "; DPAR " << spread(g.dpar_seed_fids) << ".\n\n";
    o << "Convergence (FID-FMNIST at each evaluation):\n\n| step | epoch | baseline TFLOP | baseline FID | DPAR TFLOP "
         "| DPAR FID |\n|---|---|---|---|---|---|\n";
    for (std::size_t k = 0; k < g.dpar.curve.size(); ++k) {
      const auto& b = g.baseline.curve[k];
      const auto& d = g.dpar.curve[k];
      o << "| " << d.step << " | " << num(d.epoch) << " | " << num(b.train_flops * 1e-12) << " | " << num(b.metrics.fid)
        << " | " << num(d.train_flops * 1e-12) << " | " << num(d.metrics.fid) << " |\n";
    }
    o << "\n![FID vs epochs](" << relative_link(g.curve_epochs, out) << ") ![FID vs FLOPs](" << relative_link(g.curve_flops, out)
      << ")\n\nSamples (one row per class), baseline then DPAR:\n\n![baseline](" << relative_link(g.baseline_grid, out)
      << ") ![DPAR](" << relative_link(g.dpar_grid, out) << ")\n\nEntropy maps (low to high total entropy):\n\n";
    for (const auto& m : g.entropy_maps) o << "![entropy map](" << relative_link(m, out) << ") ";
    o << "\n\n";
  }

  if (!r.ablations.empty()) {
    const std::vector<std::pair<std::string, std::string>> titles{
        {"3", "Table 3: patching strategy"},      {"4", "Table 4: entropy threshold (P_max 4)"},
        {"5", "Table 5: maximum patch length"},   {"6", "Table 6: inference-time patch scaling (no retraining)"},
        {"9", "Table 9: global positions"},       {"10", "Table 10: encoder / decoder split"},
        {"entropy", "Entropy-model size (no paper table)"}};
    o << "## Ablations at " << r.grids.front().grid << "x" << r.grids.front().grid << " (" << r.ablation_steps
      << " training steps each, " << c.ablation_samples << " samples each)\n\nPaper: DPAR-L, 50 ImageNet epochs, "
      << "Inception FID-50K. Threshold steps are the paper's 0.1 nats scaled by ln(" << r.grids.front().codebook
      << ") / ln(16384).\n\n";
    for (const auto& [table, title] : titles) {
      bool any = false;
      for (const auto& a : r.ablations) any |= a.table == table;
      if (!any) continue;
      o << "### " << title << "\n\n| setting | theta | P_max | mean length (train) | mean length (samples) | "
           "FID-FMNIST | IS | precision | recall | class acc | paper FID |\n|---|---|---|---|---|---|---|---|---|---|---|\n";
      for (const auto& a : r.ablations)
        if (a.table == table)
          o << "| " << a.setting << " | " << num(a.threshold, 3) << " | " << a.max_patch << " | "
            << num(a.train_mean_length) << " | " << num(a.sample_mean_length) << " | " << metrics_cells(a.metrics)
            << " | " << a.paper << " |\n";
      o << "\n";
    }
  }
  return o.str();
}

inline void write_report(const std::filesystem::path& path, const std::string& text) {
  write_file_atomically(path, [&](file_sink& sink) { sink.write(text.data(), text.size()); });
}

}  // namespace patchzoo::dpar::experiment
