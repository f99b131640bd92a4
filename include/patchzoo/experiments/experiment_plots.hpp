#pragma once
// The convergence pictures of one grid: FID-FMNIST of the baseline and DPAR against training epochs
// (paper Figure 4) and against cumulative training FLOPs (paper Figure 1b).
#include <filesystem>
#include <string>
#include <utility>

#include "patchzoo/experiments/experiment_results.hpp"
#include "patchzoo/image/plot.hpp"

namespace patchzoo::dpar::experiment {

inline image::plot_series fid_series(const model_run& r, bool against_flops) {
  image::plot_series s{r.name, {}, {}};
  for (const auto& p : r.curve) {
    s.x.push_back(against_flops ? p.train_flops * 1e-12 : p.epoch);
    s.y.push_back(p.metrics.fid);
  }
  return s;
}

// Returns the (epochs, FLOPs) PNG paths written into dir.
inline std::pair<std::filesystem::path, std::filesystem::path> write_convergence_plots(const std::filesystem::path& dir,
                                                                                      const grid_result& g) {
  const std::string grid = std::to_string(g.grid) + "x" + std::to_string(g.grid);
  const auto epochs = dir / "fid_vs_epochs.png", flops = dir / "fid_vs_flops.png";
  image::write_plot_png(epochs, {"FID-FMNIST vs training epochs, " + grid, "epoch", "FID-FMNIST",
                                 {fid_series(g.baseline, false), fid_series(g.dpar, false)}});
  image::write_plot_png(flops, {"FID-FMNIST vs training compute, " + grid, "training TFLOP", "FID-FMNIST",
                                {fid_series(g.baseline, true), fid_series(g.dpar, true)}});
  return {epochs, flops};
}

}  // namespace patchzoo::dpar::experiment
