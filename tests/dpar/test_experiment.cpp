// The experiment driver on a seconds-sized budget (preset "tiny"): it runs end to end on a tiny zoo and
// the installed Fashion-MNIST, and writes well-formed results, report tables and pictures.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "patchzoo/backend/eigen/eigen_backend.hpp"
#include "patchzoo/experiments/experiment_report.hpp"
#include "patchzoo/experiments/run_experiment.hpp"
#include "patchzoo/image/image_reader.hpp"
#include "patchzoo/zoo/make_classifier.hpp"
#include "patchzoo/zoo/weights.hpp"
#include "support/temp_dir.hpp"

using namespace patchzoo;
using namespace patchzoo::dpar::experiment;
namespace fs = std::filesystem;

namespace {

// An untrained one-model zoo: a small CNN (the metrics only need some fixed feature map).
void write_tiny_zoo(const fs::path& dir) {
  using L = zoo::layer_spec;
  eigen_backend be;
  const zoo::architecture spec =
      zoo::sequential_spec{{L::conv2d(4, 3, 1), L::gelu(), L::maxpool2d(2), L::flatten(), L::linear(16), L::gelu(), L::linear(10)}};
  auto model = zoo::make_classifier<eigen_backend, float>(spec, 5);
  zoo::save_weights(be, dir / "cnn.safetensors", *model, "cnn");
  zoo::manifest m;
  m.profiling_split = m.machine = "test";
  m.profiling_images = m.latency_runs = 1;
  zoo::manifest_model e;
  e.profile = {"cnn", "tiny-cnn", 0.5, 0.1, 0.2, model->parameter_count(), model->flops()};
  e.test_accuracy = 0.5;
  e.architecture = zoo::to_json(spec);
  e.weights = "cnn.safetensors";
  m.models.push_back(e);
  zoo::write_manifest(dir / zoo::manifest_file_name, m);
}

bool finite_metrics(const eval::sample_metrics& m) {
  return m.samples >= 10 && std::isfinite(m.fid) && m.inception_score >= 1.0 - 1e-9 && m.precision >= 0 &&
         m.precision <= 1 && m.recall >= 0 && m.recall <= 1 && m.class_accuracy >= 0 && m.class_accuracy <= 1;
}

void check_png(const fs::path& p) {
  INFO(p.string());
  REQUIRE(fs::exists(p));
  const auto img = image::read_image(p);
  CHECK(img.width >= 28);
  CHECK(img.height >= 28);
}

}  // namespace

TEST_CASE("dpar experiment, tiny preset: curves, ablation tables, report and pictures") {
  if (!fs::exists(data::fashion_mnist_default_dir)) {
    MESSAGE("Fashion-MNIST is not installed; skipped");
    return;
  }
  temp_dir dir("experiment_tiny");
  fs::create_directories(dir.path / "zoo");
  write_tiny_zoo(dir.path / "zoo");
  auto c = preset_config("tiny");
  c.zoo_dir = dir.path / "zoo";
  c.seed_repeats = 2;
  const auto out = dir.path / "out";
  eigen_backend be;
  const auto r = run_experiment(be, c, out);

  REQUIRE(r.grids.size() == 1);
  const auto& g = r.grids[0];
  CHECK(g.grid == 16);
  CHECK(g.tokens == 256);
  CHECK(std::isfinite(g.tokenizer_fid));
  CHECK(g.train_mean_length > 1.0);
  CHECK(g.dpar_cost.training_flops < g.baseline_cost.training_flops);
  for (const auto* run : {&g.baseline, &g.dpar}) {
    REQUIRE(run->curve.size() == 2);
    CHECK(run->curve[0].step == 2);
    CHECK(run->curve[1].step == 4);
    CHECK(run->curve[1].train_flops > run->curve[0].train_flops);
    CHECK(run->curve[1].epoch == doctest::Approx(4.0 * 4 / 64));
    for (const auto& p : run->curve) CHECK(finite_metrics(p.metrics));
  }
  CHECK(g.baseline.curve[1].global_steps_per_image == 256.0);
  CHECK(g.dpar.curve[1].global_steps_per_image < 256.0);
  // the final FID again with a second sampling seed: other samples, another value
  for (const auto* fids : {&g.baseline_seed_fids, &g.dpar_seed_fids}) {
    REQUIRE(fids->size() == 2);
    CHECK(std::isfinite((*fids)[1]));
    CHECK((*fids)[1] != (*fids)[0]);
  }
  CHECK(g.dpar_seed_fids[0] == g.dpar.curve.back().metrics.fid);
  for (const auto& p : {g.baseline_grid, g.dpar_grid, g.curve_epochs, g.curve_flops}) check_png(p);
  CHECK(g.entropy_maps.size() == 3);
  for (const auto& p : g.entropy_maps) check_png(p);

  // every paper table has rows; Table 6 changes the sampled patch length without retraining
  for (const std::string table : {"3", "4", "5", "6", "9", "10", "entropy"}) {
    INFO(table);
    int rows = 0;
    for (const auto& a : r.ablations) rows += a.table == table;
    CHECK(rows >= 1);
  }
  for (const auto& a : r.ablations) {
    INFO(a.table, " ", a.setting);
    CHECK(finite_metrics(a.metrics));
  }
  double static_trained = 0, static_doubled = 0;
  for (const auto& a : r.ablations) {
    if (a.setting == "static: length as trained") static_trained = a.sample_mean_length;
    if (a.setting == "static: length x 2") static_doubled = a.sample_mean_length;
  }
  CHECK(static_trained == doctest::Approx(1.81).epsilon(0.02));
  CHECK(static_doubled == doctest::Approx(3.62).epsilon(0.02));

  const auto text = markdown_report(c, r, out, "patchzoo dpar experiment --preset tiny");
  for (const std::string s : {"FID-FMNIST", "not comparable with Inception FID", "5.46 (LlamaGen-B", "Table 3", "Table 4",
                              "Table 5", "Table 6", "Table 9", "Table 10", "Entropy-model size", "grid16/dpar_samples.png",
                              "over 2 sampling seeds"})
    CHECK_MESSAGE(text.find(s) != std::string::npos, s);
  const auto json = to_json(r);
  CHECK(json["grids"][0]["dpar"]["curve"].size() == 2);
  CHECK(json["ablations"].size() == r.ablations.size());
  CHECK(json["grids"][0]["dpar_final_fid_per_sampling_seed"].size() == 2);

  CHECK_THROWS_WITH_AS(run_experiment(be, c, out), doctest::Contains("is not empty"), error);
}

TEST_CASE("dpar experiment: presets and bad settings") {
  CHECK_THROWS_WITH_AS(preset_config("huge"), doctest::Contains("unknown preset 'huge'"), error);
  for (const std::string p : {"tiny", "quick", "full", "gpu"}) CHECK_NOTHROW(validate(preset_config(p)));
  auto c = preset_config("tiny");
  c.model.layers += 1;
  CHECK_THROWS_WITH_AS(validate(c), doctest::Contains("same total depth"), error);
  c = preset_config("tiny");
  c.eval_samples = 15;
  CHECK_THROWS_WITH_AS(validate(c), doctest::Contains("multiple of 10"), error);
  c = preset_config("tiny");
  c.seed_repeats = 0;
  CHECK_THROWS_WITH_AS(validate(c), doctest::Contains("seed_repeats"), error);
  c = preset_config("quick");
  c.ablation_steps = c.recipe.warmup;
  CHECK_THROWS_WITH_AS(validate(c), doctest::Contains("warmup must be shorter"), error);
}
