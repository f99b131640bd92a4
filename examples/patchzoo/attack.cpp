// `patchzoo attack fingerprint|experiment`: the PSML attacker. `fingerprint` maps a model-less server's
// front (in-process on a zoo directory, or over HTTP against `patchzoo serve`) and prints the trigger
// spec of a victim; `experiment` runs every attack mode and the defense sweep and writes tables, JSON and
// plots (docs/psml.md).
#include <array>
#include <chrono>
#include <fstream>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "patchzoo/attack/experiment_report.hpp"
#include "patchzoo/attack/local_server_target.hpp"
#include "patchzoo/serve/zoo_executor.hpp"
#include "patchzoo/util/progress.hpp"
#include "patchzoo/util/report.hpp"
#include "patchzoo/zoo/model_zoo.hpp"
#include "backend_choice.hpp"
#include "subcommands.hpp"

namespace {

using namespace patchzoo;

struct fingerprint_options {
  std::string zoo = "runs/zoo";
  std::string backend = "eigen";  // of the in-process zoo
  std::string host;  // set: attack a running `patchzoo serve` over HTTP
  int port = 8000;
  std::string task = "fashion-mnist";
  std::string defense = "none";
  std::string granularity = "per-request";
  int victim_rank = 0;
  double accuracy_precision = 0.001, latency_precision = 0.001;
  double latency_lo_ms = 1e-4, latency_hi_ms = 1e4;
  int repeats = 1, census = 32, verify = 10;
  std::int64_t probes = 1;
  std::uint64_t seed = 0;
  bool json = false;
};

struct experiment_options {
  std::string zoo = "runs/zoo";
  std::string backend = "eigen";
  std::string out = "out/psml_attack";
  bool quick = false;
  bool http = false;
  int seeds = 3;
  std::string surrogate = "m2";
  std::int64_t epochs = 30;
  double naive_margin = 0.03;
  bool no_sweep = false;
  std::int64_t evaluation_images = 5000;
  bool json = false;
};

// The victim zoo, predicting on the named CPU backend.
std::shared_ptr<serve::model_executor> load_zoo(const std::string& dir, const std::string& backend) {
  std::shared_ptr<serve::model_executor> executor;
  with_cpu_backend(backend, [&]<class B>() {
    executor = std::make_shared<serve::zoo_executor<zoo::model_zoo<B>>>(zoo::model_zoo<B>::load(dir));
  });
  return executor;
}

void run_fingerprint(const fingerprint_options& o) {
  const data::fashion_mnist ds = data::load_fashion_mnist();
  attack::attacker_split_config sc;
  sc.seed = o.seed;
  const attack::labelled_images probes = attack::load_images(ds, attack::make_attacker_split(sc).pool, o.probes);

  std::unique_ptr<attack::attack_target> target;
  std::unique_ptr<attack::http_client> remote;
  attack::zoo_client* client = nullptr;
  if (!o.host.empty()) {
    remote = std::make_unique<attack::http_client>(attack::http_client_config{o.host, o.port, o.task, {}});
    client = remote.get();
  } else {
    target = attack::in_process_targets(load_zoo(o.zoo, o.backend))({psml::parse_defense_config(o.defense),
                                                          psml::parse_selection_granularity(o.granularity),
                                                          psml::selection_policy::uniform, o.seed});
    client = &target->client();
  }
  attack::fingerprint_config c;
  c.accuracy_precision = o.accuracy_precision;
  c.latency_precision = o.latency_precision;
  c.latency_lo_ms = o.latency_lo_ms;
  c.latency_hi_ms = o.latency_hi_ms;
  c.repeats = o.repeats;
  c.census_requests = o.census;
  c.verify_requests = o.verify;
  const auto start = std::chrono::steady_clock::now();
  const attack::fingerprint_result r = attack::fingerprinter(*client, probes.images, c).run(o.victim_rank);
  report out;
  out["server"] = o.host.empty() ? "in-process " + o.zoo + " (backend " + o.backend + ", defense " + o.defense + ", " +
                                       o.granularity + ")"
                                 : "http://" + o.host + ":" + std::to_string(o.port);
  nlohmann::ordered_json models = nlohmann::ordered_json::array();
  for (const attack::fingerprinted_model& m : r.models)
    models.push_back({{"rank", m.rank}, {"accuracy", m.accuracy}, {"latency_ms", m.latency_ms}});
  out["models"] = models;
  out["census_signatures"] = r.census_signatures;
  out["victim_rank"] = r.victim_rank;
  out["trigger"] = {{"min_accuracy", r.trigger.min_accuracy.value_or(0.0)},
                    {"max_latency_ms", r.trigger.max_latency_ms.value_or(0.0)}};
  out["verified"] = std::to_string(r.verify_matches) + "/" + std::to_string(r.verify_requests);
  out["queries"] = {{"census", r.census_queries}, {"search", r.search_queries}, {"verify", r.verify_queries},
                    {"total", r.queries()}};
  out["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out.emit(o.json);
}

// The defense sweep: each family at levels from strong to weak noise (PSML's defenses). Scores use accuracy
// and latency scales that fit Fashion-MNIST's zoo (10 accuracy points, 0.1 ms) rather than the paper
// code's 100 % / 100 ms, under which every sub-millisecond model would score alike.
std::vector<attack::sweep_point> default_sweep(bool quick) {
  std::vector<attack::sweep_point> sweep{{"none", 0, {}}};
  const std::vector<double> eps = quick ? std::vector<double>{10, 50, 200} : std::vector<double>{5, 20, 50, 100, 300};
  for (const char* family : {"exponential", "permute-and-flip"})
    for (double e : eps) {
      psml::defense_config d = psml::parse_defense_config(std::string(family) + ":score=l1,epsilon=" + std::to_string(e) +
                                                          ",sensitivity=1,accuracy-scale=0.1,latency-scale=0.1");
      sweep.push_back({family, e, d});
    }
  const std::vector<double> noise =
      quick ? std::vector<double>{0.05, 0.01, 0.002} : std::vector<double>{0.05, 0.02, 0.01, 0.005, 0.002};
  for (double b : noise) {
    psml::defense_config d = psml::parse_defense_config("noisy-spec:noise=laplace,accuracy=" + std::to_string(b) +
                                                        ",latency=" + std::to_string(b) + ",never-looser=0");
    sweep.push_back({"noisy-spec", b, d});
  }
  return sweep;
}

void run_experiment(const experiment_options& o) {
  const data::fashion_mnist ds = data::load_fashion_mnist();
  auto executor = load_zoo(o.zoo, o.backend);
  attack::experiment_config c;
  c.seeds.clear();
  for (int s = 0; s < o.seeds; ++s) c.seeds.push_back(static_cast<std::uint64_t>(s));
  c.surrogate.architecture = o.surrogate;
  c.surrogate.epochs = o.epochs;
  c.naive_margin = o.naive_margin;
  c.evaluation_images = o.evaluation_images;
  if (!o.no_sweep) c.sweep = default_sweep(o.quick);
  if (o.quick) {
    c.evaluation_images = std::min<std::int64_t>(c.evaluation_images, 2000);
    c.surrogate.epochs = std::min<std::int64_t>(o.epochs, 8);
  }
  attack::attack_experiment experiment(executor, o.http ? attack::local_server_targets(executor) : attack::in_process_targets(executor),
                                       c, ds);
  const auto started = std::chrono::steady_clock::now();
  const attack::experiment_result r = experiment.run([&](const std::string& step) {
    std::cerr << "attack experiment [" << format_duration(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count())
              << "]: " << step << std::endl;
  });
  attack::fingerprint_config fc;
  const auto cost = attack::fingerprint_cost(o.quick ? std::vector<std::size_t>{2, 8, 32} : std::vector<std::size_t>{2, 4, 8, 16, 32, 64},
                                             {0.01, 0.001, 0.0001}, fc, 1);
  const std::string header = "Command: `patchzoo attack experiment --zoo " + o.zoo + " --backend " + o.backend + (o.quick ? " --quick" : "") +
                             (o.http ? " --http" : "") + (o.no_sweep ? " --no-sweep" : "") + " --seeds " + std::to_string(o.seeds) + " --surrogate " +
                             o.surrogate + " --epochs " + std::to_string(c.surrogate.epochs) + " --naive-margin " + std::to_string(o.naive_margin) + "`; " +
                             std::to_string(r.seconds) + " s; transport " + (o.http ? "HTTP" : "in-process") + ".\n";
  attack::write_experiment_report(o.out, r, cost, header);
  report out;
  out["out"] = o.out;
  out["seconds"] = r.seconds;
  out["front"] = r.front_ids;
  out["extraction_runs"] = r.extraction.size();
  out["tables"] = o.out + "/psml_attack_tables.md";
  out.emit(o.json);
}

void run_report(const std::string& json_path, const std::string& out, const std::string& header) {
  std::ifstream in(json_path);
  check(in.good(), "attack report", "cannot read ", json_path);
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  check(!j.is_discarded(), "attack report", json_path, " is not valid JSON");
  std::vector<attack::fingerprint_cost_row> cost;
  const attack::experiment_result r = attack::result_from_json(j, cost);
  attack::write_experiment_report(out, r, cost, header);
  report rep;
  rep["out"] = out;
  rep["extraction_runs"] = r.extraction.size();
  rep.emit(false);
}

}  // namespace

void register_attack(CLI::App& app) {
  auto* cmd = app.add_subcommand("attack", "PSML attacker: fingerprint a model-less server; run the attack experiment");
  cmd->require_subcommand(1);

  auto f = std::make_shared<fingerprint_options>();
  auto* fp = cmd->add_subcommand("fingerprint", "Map the server's Pareto front and print a victim's trigger spec");
  fp->add_option("--zoo", f->zoo, "Zoo directory, attacked in-process");
  add_backend_option(fp, f->backend);
  fp->add_option("--host", f->host, "Attack `patchzoo serve` at this host over HTTP instead");
  fp->add_option("--port", f->port, "Port of the server")->check(CLI::Range(1, 65535));
  fp->add_option("--task", f->task, "The server's {task}");
  fp->add_option("--defense", f->defense, "In-process only: the server's defense spec (as `patchzoo serve --defense`)");
  fp->add_option("--granularity", f->granularity, "In-process only: per-request or per-input selection")
      ->check(CLI::IsMember({"per-request", "per-input"}));
  fp->add_option("--victim-rank", f->victim_rank, "Victim by accuracy rank (0 = most accurate)");
  fp->add_option("--accuracy-precision", f->accuracy_precision, "Absolute (0.001 = 0.1 point)");
  fp->add_option("--latency-precision", f->latency_precision, "Relative (0.001 = 0.1 %)");
  fp->add_option("--latency-lo-ms", f->latency_lo_ms, "Lowest latency searched");
  fp->add_option("--latency-hi-ms", f->latency_hi_ms, "Highest latency searched");
  fp->add_option("--repeats", f->repeats, "Requests per probe point (majority vote)");
  fp->add_option("--census", f->census, "Unconstrained census requests");
  fp->add_option("--verify", f->verify, "Repeats of the trigger");
  fp->add_option("--probes", f->probes, "Probe images per request")->check(CLI::Range(1, 64));
  fp->add_option("--seed", f->seed, "Attacker seed (probe choice) and in-process server seed");
  fp->add_flag("--json", f->json, "Print one JSON object");
  fp->callback([f] { run_fingerprint(*f); });

  auto e = std::make_shared<experiment_options>();
  auto* ex = cmd->add_subcommand("experiment", "All attack modes x budgets x victims, then the defense sweep");
  ex->add_option("--zoo", e->zoo, "Zoo directory");
  add_backend_option(ex, e->backend);
  ex->add_option("--out", e->out, "Output directory (tables, JSON, PNG)");
  ex->add_flag("--quick", e->quick, "One seed unless --seeds is given, 3 levels per defense, 2000 evaluation images, at most 8 epochs");
  ex->add_flag("--no-sweep", e->no_sweep, "Only the attack modes, no defense sweep");
  ex->add_flag("--http", e->http, "Attack a real HTTP server (started in-process per configuration)");
  auto* seeds = ex->add_option("--seeds", e->seeds, "Seeds 0..N-1")->check(CLI::Range(1, 100));
  ex->add_option("--naive-margin", e->naive_margin, "The naive attacker asks for the victim's accuracy minus this")
      ->check(CLI::Range(0.0, 1.0));
  ex->add_option("--surrogate", e->surrogate, "Surrogate architecture (a zoo model id)");
  ex->add_option("--epochs", e->epochs, "Surrogate training epochs")->check(CLI::Range(1, 1000));
  ex->add_option("--evaluation-images", e->evaluation_images, "Images for accuracy and fidelity")
      ->check(CLI::Range(100, 5000));
  ex->add_flag("--json", e->json, "Print one JSON object");
  auto rj = std::make_shared<std::array<std::string, 3>>();
  auto* rp = cmd->add_subcommand("report", "Redraw the tables and plots of an experiment from its psml_attack.json");
  rp->add_option("--from", (*rj)[0], "psml_attack.json of an experiment")->required()->check(CLI::ExistingFile);
  rp->add_option("--out", (*rj)[1], "Output directory")->required();
  rp->add_option("--header", (*rj)[2], "Text above the tables (e.g. the command that produced the JSON)");
  rp->callback([rj] { run_report((*rj)[0], (*rj)[1], (*rj)[2]); });

  ex->callback([e, seeds] {
    if (e->quick && seeds->count() == 0) e->seeds = 1;
    run_experiment(*e);
  });
}
