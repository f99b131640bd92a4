// `patchzoo dpar experiment`: the DPAR vs baseline evaluation (FID-FMNIST curves against epochs and
// training FLOPs at 16x16 and 24x24, the 16x16 ablations), written to --out as report.md, results.json,
// config.json and PNGs. Presets: --quick (<= 15 min on one core), --preset full (<= 3 h on 2 cores),
// --preset gpu (sizes for a GPU machine), --preset tiny (seconds; tests).
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "backend_choice.hpp"
#include "patchzoo/core/error.hpp"
#include "patchzoo/experiments/experiment_report.hpp"
#include "patchzoo/experiments/run_experiment.hpp"
#include "patchzoo/util/report.hpp"
#include "subcommands.hpp"

namespace {

struct experiment_options {
  std::string preset = "full", backend = "eigen", out, zoo = "runs/zoo", data, tokenizer16, tokenizer24;
  std::vector<int> grids;  // empty: the preset's
  bool quick = false, no_ablations = false, json = false;
};

void run(const experiment_options& o) {
  using namespace patchzoo;
  auto c = dpar::experiment::preset_config(o.quick ? "quick" : o.preset);
  c.zoo_dir = o.zoo;
  if (!o.data.empty()) c.data_dir = o.data;
  if (!o.tokenizer16.empty()) c.tokenizers[16] = o.tokenizer16;
  if (!o.tokenizer24.empty()) c.tokenizers[24] = o.tokenizer24;
  if (o.no_ablations) c.ablations = false;
  if (!o.grids.empty()) {
    c.grids.clear();
    for (const int g : o.grids) c.grids.push_back({g, g == 16 ? 1.81 : 2.06});  // the paper's reductions
  }
  std::string command = "patchzoo dpar experiment --preset " + c.preset + " --out " + o.out + " --zoo " + o.zoo;
  if (!o.tokenizer16.empty()) command += " --tokenizer16 " + o.tokenizer16;
  if (!o.tokenizer24.empty()) command += " --tokenizer24 " + o.tokenizer24;
  if (o.no_ablations) command += " --no-ablations";
  for (const int g : o.grids) command += " --grid " + std::to_string(g);
  const std::filesystem::path out = o.out;
  dpar::experiment::experiment_result result;
  with_cpu_backend(o.backend, [&]<class B>() {
    B be;
    result = dpar::experiment::run_experiment(be, c, out, [](const std::string& line) {
      std::cerr << "[dpar experiment] " << line << std::endl;
    });
  });
  auto results = to_json(result);
  results["config"] = to_json(c);
  results["command"] = command;
  dpar::experiment::write_report(out / "results.json", results.dump(2) + "\n");
  dpar::experiment::write_report(out / "report.md", dpar::experiment::markdown_report(c, result, out, command));
  report r;
  r["out"] = out.string();
  r["report"] = (out / "report.md").string();
  r["seconds"] = result.seconds;
  for (const auto& g : result.grids) {
    const std::string key = "grid" + std::to_string(g.grid);
    r[key + "_baseline_fid_fmnist"] = g.baseline.curve.back().metrics.fid;
    r[key + "_dpar_fid_fmnist"] = g.dpar.curve.back().metrics.fid;
    r[key + "_token_reduction"] = g.train_mean_length;
  }
  r.emit(o.json);
}

}  // namespace

void register_dpar_experiment(CLI::App& app) {
  auto* dp = app.get_subcommand("dpar");
  auto o = std::make_shared<experiment_options>();
  auto* cmd = dp->add_subcommand("experiment", "DPAR vs baseline: FID-FMNIST curves, token reduction, ablations");
  cmd->add_option("--out", o->out, "output directory (new or empty)")->required();
  cmd->add_flag("--quick", o->quick, "the quick preset (<= 15 minutes on one CPU core)");
  cmd->add_option("--preset", o->preset, "tiny, quick, full (<= 3 h on 2 CPU cores) or gpu")
      ->check(CLI::IsMember({"tiny", "quick", "full", "gpu"}));
  cmd->add_option("--zoo", o->zoo, "classifier zoo directory (zoo.json); its most accurate CNN scores the samples")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--data", o->data, "Fashion-MNIST directory (default: the installed copy)")->check(CLI::ExistingDirectory);
  cmd->add_option("--tokenizer16", o->tokenizer16, "a trained 16x16 tokenizer directory (default: train one)")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--tokenizer24", o->tokenizer24, "a trained 24x24 tokenizer directory (default: train one)")
      ->check(CLI::ExistingDirectory);
  cmd->add_flag("--no-ablations", o->no_ablations, "only the baseline vs DPAR comparison");
  cmd->add_option("--grid", o->grids, "only this token grid, 16 or 24 (repeatable; default both); ablations run at the first")
      ->check(CLI::IsMember({16, 24}));
  add_backend_option(cmd, o->backend);
  cmd->add_flag("--json", o->json, "print one JSON object on stdout");
  cmd->callback([o] { run(*o); });
}
