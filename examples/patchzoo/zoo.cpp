// `patchzoo zoo train|profile|eval`: trains the Fashion-MNIST classifier zoo, writes each model's
// weights and the zoo.json manifest (accuracy on the profiling split, single-thread latency), re-measures
// latency on the current machine, and reports test accuracy.
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "patchzoo/backend/eigen/eigen_backend.hpp"
#include "patchzoo/data/fashion_mnist.hpp"
#include "patchzoo/data/splits.hpp"
#include "patchzoo/util/progress.hpp"
#include "patchzoo/util/report.hpp"
#include "patchzoo/zoo/latency.hpp"
#include "patchzoo/zoo/manifest.hpp"
#include "patchzoo/zoo/model_zoo.hpp"
#include "patchzoo/zoo/weights.hpp"
#include "patchzoo/zoo/zoo_spec.hpp"
#include "backend_choice.hpp"
#include "distributed.hpp"
#include "subcommands.hpp"

namespace {

using namespace patchzoo;
namespace fs = std::filesystem;

constexpr std::int64_t profiling_size = 5000;

struct zoo_options {
  std::string out = "runs/zoo";
  std::string zoo_dir = "runs/zoo";
  std::string data = data::fashion_mnist_default_dir.string();
  double epochs_scale = 1.0;
  std::int64_t train_images = 0;  // 0: the whole training split
  std::vector<std::string> models;
  std::uint64_t seed = 1;
  int latency_runs = 200;
  std::string backend = "eigen";  // eval only: train and profile measure the eigen backend
  bool json = false;
};

// "model name, N cores, kernel": enough to tell whose latencies a manifest holds.
std::string machine_description() {
  std::string cpu = "unknown CPU";
  std::ifstream info("/proc/cpuinfo");
  for (std::string line; std::getline(info, line);)
    if (line.rfind("model name", 0) == 0) {
      cpu = line.substr(line.find(':') + 2);
      break;
    }
  utsname u{};
  ::uname(&u);
  return cpu + ", " + std::to_string(::sysconf(_SC_NPROCESSORS_ONLN)) + " cores online, " + u.sysname + " " +
         u.release + ", single-thread batch-1 predict (eigen backend, float)";
}

// The first profiling image as a batch of one: every model is timed on the same input.
tensor<float> latency_image(const data::fashion_mnist& ds, std::uint64_t seed) {
  const auto splits = data::make_splits(ds.train.size(), profiling_size, seed);
  return data::make_batch(ds.train, {splits.validation.front()}).images.clone();
}

nlohmann::ordered_json profile_row(const zoo::manifest_model& e) {
  return {{"id", e.profile.id},
          {"name", e.profile.name},
          {"accuracy", e.profile.accuracy},
          {"test_accuracy", e.test_accuracy},
          {"latency_p50_ms", e.profile.latency_p50_ms},
          {"latency_p99_ms", e.profile.latency_p99_ms},
          {"parameters", e.profile.parameters},
          {"flops", e.profile.flops}};
}

void print_table(const zoo::manifest& m) {
  std::printf("%-4s %-22s %9s %9s %9s %9s %10s %11s\n", "id", "name", "acc(prof)", "acc(test)", "p50 ms", "p99 ms",
              "params", "flops");
  for (const auto& e : m.models) {
    const auto& p = e.profile;
    std::printf("%-4s %-22s %9.4f %9.4f %9.4f %9.4f %10lld %11lld\n", p.id.c_str(), p.name.c_str(), p.accuracy,
                e.test_accuracy, p.latency_p50_ms, p.latency_p99_ms, static_cast<long long>(p.parameters),
                static_cast<long long>(p.flops));
  }
}

void run_train(const zoo_options& o) {
  eigen_backend be;
  const auto ds = data::load_fashion_mnist(o.data);
  const auto splits = data::make_splits(ds.train.size(), profiling_size, o.seed);
  auto train_indices = splits.train;
  if (o.train_images > 0 && o.train_images < static_cast<std::int64_t>(train_indices.size()))
    train_indices.resize(static_cast<std::size_t>(o.train_images));
  const auto train = ds.train.subset(train_indices);
  const auto profiling = ds.train.subset(splits.validation);
  const auto image = latency_image(ds, o.seed);

  std::vector<zoo::zoo_entry> chosen;
  for (const auto& e : zoo::fashion_mnist_zoo())
    if (o.models.empty() || std::find(o.models.begin(), o.models.end(), e.id) != o.models.end()) chosen.push_back(e);
  check(!chosen.empty(), "zoo train", "none of the requested models is in the zoo (ids m0..m7)");
  fs::create_directories(o.out);

  zoo::manifest m;
  m.seed = o.seed;
  m.profiling_split = "validation indices of make_splits(60000, 5000, seed) over the official training set; "
                      "models train on the remaining indices";
  m.profiling_images = profiling.size();
  m.machine = machine_description();
  m.latency_runs = o.latency_runs;
  std::cerr << "zoo train: " << chosen.size() << " models, " << train.size() << " training images, "
            << profiling.size() << " profiling images, epochs x" << o.epochs_scale << "\n";
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t k = 0; k < chosen.size(); ++k) {
    const auto& e = chosen[k];
    auto model = zoo::make_classifier<eigen_backend, float>(e.spec, o.seed * 1000 + k);
    auto cfg = e.train;
    cfg.epochs *= o.epochs_scale;
    std::cerr << "[" << k + 1 << "/" << chosen.size() << "] " << e.id << " " << e.name << ": "
              << model->parameter_count() << " parameters, " << cfg.epochs << " epochs\n";
    std::unique_ptr<progress> bar;  // created on the first step, when the step count is known
    // A killed run resumes the model it was training from here; the file goes once its weights are saved.
    const zoo::training_checkpoint checkpoint{fs::path(o.out) / (e.id + ".training.safetensors"), 100};
    auto& comm = cli::job_communicator();  // data-parallel under mpirun / srun
    const auto result = zoo::train_classifier(
        be, *model, train, cfg, o.seed + k,
        [&](std::int64_t step, std::int64_t total, double loss) {
          if (!bar) bar = std::make_unique<progress>(e.id, total);
          char extra[32];
          std::snprintf(extra, sizeof extra, "loss %.4f", loss);
          bar->update(step, extra);
        },
        checkpoint, comm);
    if (bar) bar->finish();
    if (!comm.is_root()) {  // rank 0 profiles and saves the model; the others wait without using its cores
      comm.barrier();
      continue;
    }
    zoo::manifest_model entry;
    entry.profile = {e.id, e.name, zoo::evaluate_accuracy(be, *model, profiling), 0, 0, model->parameter_count(),
                     model->flops()};
    entry.test_accuracy = zoo::evaluate_accuracy(be, *model, ds.test);
    const auto lat = zoo::measure_latency(be, *model, image, o.latency_runs);
    entry.profile.latency_p50_ms = lat.p50_ms;
    entry.profile.latency_p99_ms = lat.p99_ms;
    entry.architecture = zoo::to_json(e.spec);
    entry.weights = e.id + ".safetensors";
    zoo::save_weights(be, fs::path(o.out) / entry.weights, *model, e.id);
    fs::remove(checkpoint.path);
    std::fprintf(stderr, "%s: loss %.4f -> %.4f, profiling accuracy %.4f, test accuracy %.4f, p50 %.4f ms\n",
                 e.id.c_str(), result.first_loss, result.final_loss, entry.profile.accuracy, entry.test_accuracy,
                 lat.p50_ms);
    m.models.push_back(std::move(entry));
    zoo::write_manifest(fs::path(o.out) / zoo::manifest_file_name, m);  // a partial zoo survives an interruption
    comm.barrier();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!o.json) print_table(m);
  report r;
  r["out"] = o.out;
  r["seconds"] = seconds;
  r["models"] = nlohmann::ordered_json::array();
  for (const auto& e : m.models) r["models"].push_back(profile_row(e));
  r.emit(o.json);
}

void run_profile(const zoo_options& o) {
  const auto path = fs::path(o.zoo_dir) / zoo::manifest_file_name;
  auto m = zoo::read_manifest(path);
  const auto ds = data::load_fashion_mnist(o.data);
  const auto image = latency_image(ds, m.seed);
  eigen_backend be;
  progress bar("profile", static_cast<std::int64_t>(m.models.size()));
  for (auto& e : m.models) {
    const auto model = zoo::load_weights<eigen_backend, float>(be, fs::path(o.zoo_dir) / e.weights);
    const auto lat = zoo::measure_latency(be, *model, image, o.latency_runs);
    e.profile.latency_p50_ms = lat.p50_ms;
    e.profile.latency_p99_ms = lat.p99_ms;
    bar.advance(1, e.profile.id);
  }
  bar.finish();
  m.machine = machine_description();
  m.latency_runs = o.latency_runs;
  zoo::write_manifest(path, m);
  if (!o.json) print_table(m);
  report r;
  r["zoo"] = o.zoo_dir;
  r["machine"] = m.machine;
  r["models"] = nlohmann::ordered_json::array();
  for (const auto& e : m.models) r["models"].push_back(profile_row(e));
  r.emit(o.json);
}

template <backend B>
void run_eval(const zoo_options& o) {
  const auto zoo = zoo::model_zoo<B>::load(o.zoo_dir);
  const auto ds = data::load_fashion_mnist(o.data);
  data::batch_iterator it(ds.test, 500, data::batch_order::in_order, 0);
  std::vector<std::int64_t> correct(zoo.size(), 0);
  data::image_batch b;
  progress bar("eval", it.batches_per_epoch());
  while (it.next(b)) {
    for (std::size_t k = 0; k < zoo.size(); ++k) {
      const auto probs = zoo.predict(k, b.images);
      for (std::int64_t i = 0; i < probs.dim(0); ++i) {
        std::int64_t best = 0;
        for (std::int64_t c = 1; c < zoo::class_count; ++c)
          if (probs[i * zoo::class_count + c] > probs[i * zoo::class_count + best]) best = c;
        correct[k] += best == b.labels[i];
      }
    }
    bar.advance();
  }
  bar.finish();
  report r;
  r["zoo"] = o.zoo_dir;
  r["backend"] = o.backend;
  r["test_images"] = ds.test.size();
  r["models"] = nlohmann::ordered_json::array();
  for (std::size_t k = 0; k < zoo.size(); ++k) {
    const auto& p = zoo.profiles()[k];
    r["models"].push_back({{"id", p.id},
                           {"name", p.name},
                           {"test_accuracy", static_cast<double>(correct[k]) / static_cast<double>(ds.test.size())},
                           {"profiling_accuracy", p.accuracy}});
  }
  r.emit(o.json);
}

}  // namespace

void register_zoo(CLI::App& app) {
  auto opts = std::make_shared<zoo_options>();
  auto* cmd = app.add_subcommand("zoo", "Fashion-MNIST classifier zoo: train, profile latency, evaluate");
  cmd->require_subcommand(1);

  auto* train = cmd->add_subcommand("train", "Train the zoo; write weights and zoo.json to --out");
  train->add_option("--out", opts->out, "output directory");
  train->add_option("--epochs-scale", opts->epochs_scale, "multiply every model's epochs by this")
      ->check(CLI::PositiveNumber);
  train->add_option("--train-images", opts->train_images, "use only the first N training images (0: all)")
      ->check(CLI::NonNegativeNumber);
  train->add_option("--models", opts->models, "train only these ids (m0..m7)")->delimiter(',');
  train->add_option("--seed", opts->seed, "seed for splits, weights and data order");
  train->add_option("--latency-runs", opts->latency_runs, "timed predictions per model")->check(CLI::PositiveNumber);
  train->callback([opts] { run_train(*opts); });

  auto* profile = cmd->add_subcommand("profile", "Re-measure latency on this machine and rewrite zoo.json");
  profile->add_option("--zoo", opts->zoo_dir, "zoo directory");
  profile->add_option("--latency-runs", opts->latency_runs, "timed predictions per model")->check(CLI::PositiveNumber);
  profile->callback([opts] { run_profile(*opts); });

  auto* eval = cmd->add_subcommand("eval", "Test-set accuracy of every model of a trained zoo");
  eval->add_option("--zoo", opts->zoo_dir, "zoo directory");
  add_backend_option(eval, opts->backend);
  eval->callback([opts] { with_cpu_backend(opts->backend, [&]<class B>() { run_eval<B>(*opts); }); });

  for (auto* sub : {train, profile, eval}) {
    sub->add_option("--data", opts->data, "Fashion-MNIST directory (IDX gz files)");
    sub->add_flag("--json", opts->json, "print one JSON object on stdout");
  }
}
