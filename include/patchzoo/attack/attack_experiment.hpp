#pragma once
// The PSML attack experiment (E1-E2 below), run against any target factory (in-process or HTTP):
//   E1: every attack mode at every budget against several front victims, per seed;
//   E2: a sweep of each defense's noise level: the victim-trigger rate of the fingerprint trigger, the
//       attack's accuracy and fidelity at one budget (fingerprint; fingerprint+filter with per-request and
//       per-input selection), the fingerprinter's own success under the defense, and goodput on a fixed
//       spec workload.
// Victims are named by accuracy rank on the front (0 = most accurate); the attacker's pool, probes and
// evaluation images come from make_attacker_split, disjoint from the zoo's training data.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "patchzoo/attack/attack_metrics.hpp"
#include "patchzoo/attack/attack_modes.hpp"
#include "patchzoo/attack/attack_target.hpp"
#include "patchzoo/attack/attacker_pool.hpp"
#include "patchzoo/attack/fingerprinter.hpp"
#include "patchzoo/attack/surrogate_training.hpp"
#include "patchzoo/core/rng.hpp"
#include "patchzoo/data/fashion_mnist.hpp"

namespace patchzoo::attack {

// One defense at one noise level; `level` is the swept knob (epsilon / sensitivity, or the noise scale).
struct sweep_point {
  std::string family;  // "none", "exponential", "permute-and-flip", "noisy-spec"
  double level = 0;
  psml::defense_config defense;
};

struct experiment_config {
  std::vector<std::uint64_t> seeds{0, 1, 2};
  std::vector<int> victim_ranks{0, 2};
  std::vector<attack_mode> modes{std::begin(all_attack_modes), std::end(all_attack_modes)};
  std::vector<query_budget> budgets = default_budgets();
  std::size_t sweep_budget = 1;  // index into budgets (medium)
  int sweep_victim_rank = 0;
  std::vector<sweep_point> sweep;
  double naive_margin = 0.03;    // the naive attacker asks for the victim's public accuracy minus this
  std::int64_t batch = 16;       // pool images per extraction request
  std::int64_t probes = 1;
  std::int64_t evaluation_images = 5000;
  std::int64_t workload_queries = 2000;  // goodput workload size
  fingerprint_config fingerprint;
  surrogate_config surrogate;
  psml::selection_policy policy = psml::selection_policy::uniform;
};

struct extraction_row {
  std::uint64_t seed = 0;
  int victim_rank = 0;
  std::string victim_id, mode, budget, defense, family, granularity;
  double level = 0;
  std::int64_t budget_queries = 0, queries = 0, kept = 0;
  double accuracy = 0, fidelity = 0;  // of the surrogate on the evaluation images
  double victim_share = 0;            // share of answered images the victim served (ground truth)
  double kept_victim_share = 0;       // share of the rows trained on that carry the victim's own answer
  std::string part = "modes";         // "modes" (E1) or "sweep" (E2)
};

struct fingerprint_row {
  std::uint64_t seed = 0;
  int victim_rank = 0;
  std::string victim_id, defense, family;
  double level = 0;
  std::int64_t models_found = 0, census_signatures = 0, queries = 0;
  bool verified = false, found_victim = false;  // found_victim: the trigger's signature is the true victim's
  double trigger_accuracy = 0, trigger_latency_ms = 0;
  std::string part = "modes";  // "modes": the undefended fingerprint the attacks use; "sweep": under a defense
};

struct goodput_row {
  std::uint64_t seed = 0;
  std::string defense, family;
  double level = 0;
  double goodput_all = 0, goodput_answered = 0, infeasible_fraction = 0, mean_utility = 0;
};

struct experiment_result {
  std::vector<extraction_row> extraction;
  std::vector<fingerprint_row> fingerprints;
  std::vector<goodput_row> goodput;
  std::vector<std::string> front_ids;  // most accurate first
  std::vector<double> victim_test_accuracy;  // per victim_ranks entry, on the evaluation images of seed 0
  double seconds = 0;
};

using experiment_progress = std::function<void(const std::string&)>;

class attack_experiment {
 public:
  attack_experiment(std::shared_ptr<serve::model_executor> executor, target_factory targets, experiment_config config,
                    const data::fashion_mnist& dataset)
      : executor_(std::move(executor)), targets_(std::move(targets)), config_(std::move(config)), dataset_(dataset) {
    check(!config_.seeds.empty() && !config_.budgets.empty() && config_.sweep_budget < config_.budgets.size(),
          "attack_experiment", "needs seeds, budgets and a sweep budget index inside them");
    check(config_.probes >= 1 && config_.batch >= 1, "attack_experiment", "probes and batch must be >= 1");
    const psml::router plain(executor_->profiles(), {}, std::make_unique<psml::plain_policy_mechanism>(config_.policy));
    for (auto it = plain.front().rbegin(); it != plain.front().rend(); ++it) front_.push_back(*it);
    for (int r : all_victims())
      check(r >= 0 && r < static_cast<int>(front_.size()), "attack_experiment", "victim rank ", r, " but the front has ",
            front_.size(), " models");
  }

  experiment_result run(const experiment_progress& progress = {}) {
    const auto start = std::chrono::steady_clock::now();
    experiment_result out;
    for (std::size_t i : front_) out.front_ids.push_back(executor_->profiles()[i].id);
    for (std::uint64_t seed : config_.seeds) run_seed(seed, out, progress);
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return out;
  }

 private:
  struct seed_data {
    labelled_images pool, evaluation;
    tensor<float> probes;
  };
  struct victim_state {
    int rank = 0;
    std::size_t index = 0;
    std::string id;
    tensor<float> eval_outputs;  // the victim's own answers on the evaluation images
    fingerprint_result fp;       // against the undefended server
  };

  std::vector<int> all_victims() const {
    std::set<int> v(config_.victim_ranks.begin(), config_.victim_ranks.end());
    if (!config_.sweep.empty()) v.insert(config_.sweep_victim_rank);
    return {v.begin(), v.end()};
  }

  std::int64_t max_budget() const {
    std::int64_t m = 0;
    for (const query_budget& b : config_.budgets) m = std::max(m, b.queries);
    return m;
  }

  seed_data load(std::uint64_t seed) const {
    attacker_split_config sc;
    sc.seed = seed;
    sc.evaluation_images = config_.evaluation_images;
    const attacker_split split = make_attacker_split(sc);
    seed_data d;
    // The pool's first max_budget images are for extraction, the next `probes` are the probe images.
    d.pool = load_images(dataset_, split.pool, max_budget() + config_.probes);
    d.probes = slice_rows(d.pool.images, max_budget(), config_.probes);
    d.evaluation = load_images(dataset_, split.evaluation);
    return d;
  }

  void run_seed(std::uint64_t seed, experiment_result& out, const experiment_progress& progress) {
    const seed_data d = load(seed);
    std::vector<victim_state> victims;
    for (int rank : all_victims()) {
      victim_state v;
      v.rank = rank;
      v.index = front_[static_cast<std::size_t>(rank)];
      v.id = executor_->profiles()[v.index].id;
      v.eval_outputs = executor_->predict(v.index, d.evaluation.images);
      const auto target = targets_({{}, psml::selection_granularity::per_request, config_.policy, seed});
      v.fp = fingerprinter(target->client(), d.probes, config_.fingerprint).run(rank);
      out.fingerprints.push_back(fingerprint_summary(seed, v, v.fp, {"none", 0, {}}, d));
      victims.push_back(std::move(v));
    }
    if (seed == config_.seeds.front())
      for (int rank : config_.victim_ranks)
        out.victim_test_accuracy.push_back(accuracy(victim_of(victims, rank).eval_outputs, d.evaluation.labels));

    for (int rank : config_.victim_ranks)
      for (attack_mode mode : config_.modes)
        for (const query_budget& budget : config_.budgets) {
          if (progress) progress("seed " + std::to_string(seed) + " victim " + victim_of(victims, rank).id + " " +
                                 attack_mode_name(mode) + " " + budget.name);
          out.extraction.push_back(extract(seed, victim_of(victims, rank), mode, budget, {"none", 0, {}},
                                           psml::selection_granularity::per_request, d));
        }

    const victim_state& sv = victim_of(victims, config_.sweep_victim_rank);
    const query_budget& budget = config_.budgets[config_.sweep_budget];
    for (const sweep_point& p : config_.sweep) {
      if (progress) progress("seed " + std::to_string(seed) + " defense " + psml::describe(p.defense));
      out.goodput.push_back(measure_goodput(seed, p));
      {
        const auto target = targets_({p.defense, psml::selection_granularity::per_request, config_.policy, seed});
        fingerprint_config fc = config_.fingerprint;
        try {
          const fingerprint_result fp = fingerprinter(target->client(), d.probes, fc).run(0);
          out.fingerprints.push_back(fingerprint_summary(seed, sv, fp, p, d));
        } catch (const error&) {
          // Under heavy noise the walk may find nothing at all: the fingerprint failed outright.
          out.fingerprints.push_back({seed, sv.rank, sv.id, psml::describe(p.defense), p.family, p.level});
        }
        out.fingerprints.back().part = "sweep";
      }
      for (auto [mode, granularity] : {std::pair{attack_mode::fingerprint, psml::selection_granularity::per_request},
                                       std::pair{attack_mode::fingerprint_filter, psml::selection_granularity::per_request},
                                       std::pair{attack_mode::fingerprint_filter, psml::selection_granularity::per_input}})
        out.extraction.push_back(extract(seed, sv, mode, budget, p, granularity, d)), out.extraction.back().part = "sweep";
    }
  }

  static const victim_state& victim_of(const std::vector<victim_state>& victims, int rank) {
    for (const victim_state& v : victims)
      if (v.rank == rank) return v;
    throw error("attack_experiment: no victim of rank " + std::to_string(rank));
  }

  fingerprint_row fingerprint_summary(std::uint64_t seed, const victim_state& v, const fingerprint_result& fp,
                                      const sweep_point& p, const seed_data& d) const {
    fingerprint_row row{seed, v.rank, v.id, psml::describe(p.defense), p.family, p.level};
    row.models_found = static_cast<std::int64_t>(fp.models.size());
    row.census_signatures = fp.census_signatures;
    row.queries = fp.queries();
    row.verified = fp.verified();
    const tensor<float> truth = executor_->predict(v.index, d.probes);
    row.found_victim = fp.victim_signature == signature_of(truth, 0, d.probes.dim(0));
    row.trigger_accuracy = fp.trigger.min_accuracy.value_or(0.0);
    row.trigger_latency_ms = fp.trigger.max_latency_ms.value_or(std::numeric_limits<double>::infinity());
    return row;
  }

  extraction_row extract(std::uint64_t seed, const victim_state& v, attack_mode mode, const query_budget& budget,
                         const sweep_point& p, psml::selection_granularity granularity, const seed_data& d) const {
    const auto target = targets_({p.defense, granularity, config_.policy, seed});
    collection_plan plan;
    plan.budget = budget.queries;
    plan.batch = config_.batch;
    switch (mode) {
      case attack_mode::single: target->client().pin_model(v.id); break;
      case attack_mode::naive:
        plan.spec.min_accuracy = std::max(0.0, executor_->profiles()[v.index].accuracy - config_.naive_margin);
        break;
      case attack_mode::fingerprint: plan.spec = v.fp.trigger; break;
      case attack_mode::fingerprint_filter:
        plan.spec = v.fp.trigger;
        plan.probes = &d.probes;
        plan.victim_signature = &v.fp.victim_signature;
        break;
    }
    const auto before = target->served_images();
    const collected_labels labels = collect_labels(target->client(), d.pool.images, plan);
    extraction_row row{seed, v.rank, v.id, attack_mode_name(mode), budget.name, psml::describe(p.defense), p.family,
                       psml::granularity_name(granularity), p.level, budget.queries, labels.queries, labels.kept()};
    row.victim_share = served_share(before, target->served_images(), v.id);
    row.kept_victim_share = kept_victim_share(labels, v.index);
    if (row.kept == 0) {
      // Nothing survived (all refused or filtered): the attacker can only guess.
      row.accuracy = row.fidelity = 0.1;
      return row;
    }
    surrogate_config sc = config_.surrogate;
    sc.seed = seed;
    const surrogate s = train_surrogate(labels.images, labels.responses, labels.keep, sc);
    const tensor<float> predicted = s.predict(d.evaluation.images);
    row.accuracy = accuracy(predicted, d.evaluation.labels);
    row.fidelity = fidelity(predicted, v.eval_outputs);
    return row;
  }

  // Compares each kept answer with the victim's own output on that image. Batched predicts may differ in
  // the last bits with the batch size, so "the same answer" is every probability within 1e-5, far below
  // the distance between two models' answers.
  double kept_victim_share(const collected_labels& labels, std::size_t victim) const {
    if (labels.kept() == 0) return 0.0;
    const tensor<float> truth = executor_->predict(victim, labels.images);
    std::int64_t same = 0;
    for (std::int64_t i = 0; i < labels.images.dim(0); ++i)
      if (labels.keep[static_cast<std::size_t>(i)])
        same += std::equal(truth.data() + i * 10, truth.data() + (i + 1) * 10, labels.responses.data() + i * 10,
                           [](float a, float b) { return std::abs(a - b) <= 1e-5f; });
    return static_cast<double>(same) / static_cast<double>(labels.kept());
  }

  // Goodput of the defended router on a fixed random workload of feasible specs: accuracy
  // floors from a little below the least accurate front model to the most accurate, latency ceilings
  // log-uniform from half the fastest to twice the slowest, infeasible draws redrawn, so the undefended
  // server scores exactly 1 and every miss is the defense's.
  goodput_row measure_goodput(std::uint64_t seed, const sweep_point& p) const {
    psml::router_config rc;
    rc.seed = seed;
    psml::router router(executor_->profiles(), rc, psml::make_mechanism(p.defense, config_.policy));
    const auto& profiles = executor_->profiles();
    const double a_lo = profiles[front_.back()].accuracy - 0.02, a_hi = profiles[front_.front()].accuracy;
    const double l_lo = profiles[front_.back()].latency_p50_ms / 2, l_hi = profiles[front_.front()].latency_p50_ms * 2;
    std::vector<served_query> queries;
    rng_stream draws(seed * 1000 + 17);
    while (static_cast<std::int64_t>(queries.size()) < config_.workload_queries) {
      const double ua = draws.uniform(), ul = draws.uniform();
      const psml::service_request spec{a_lo + (a_hi - a_lo) * ua, l_lo * std::pow(l_hi / l_lo, ul)};
      bool feasible = false;
      for (std::size_t i : front_) feasible = feasible || router.meets_request(i, spec);
      if (!feasible) continue;
      const psml::route_decision dec = router.route(spec);
      served_query sq{spec, true, std::nullopt};
      if (dec.status == psml::selection_status::selected)
        sq.served = served_model{profiles[dec.model_index].accuracy, profiles[dec.model_index].latency_p50_ms};
      queries.push_back(sq);
    }
    const goodput_result g = goodput(queries);
    return {seed, psml::describe(p.defense), p.family, p.level, g.over_all, g.over_answered, g.infeasible_fraction,
            mean_utility(queries, p.defense.latency_scale_ms)};
  }

  std::shared_ptr<serve::model_executor> executor_;
  target_factory targets_;
  experiment_config config_;
  const data::fashion_mnist& dataset_;
  std::vector<std::size_t> front_;  // zoo indices, most accurate first
};

}  // namespace patchzoo::attack
