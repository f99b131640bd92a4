#pragma once
// The attack experiment's results as files: every row as JSON, mean +- std tables (over seeds) in
// markdown, and the protection-vs-goodput plots (PNG) of the defense sweep.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "patchzoo/attack/attack_experiment.hpp"
#include "patchzoo/attack/fingerprint_cost.hpp"
#include "patchzoo/image/plot.hpp"
#include "patchzoo/io/atomic_file.hpp"

namespace patchzoo::attack {

namespace report_detail {

// "88.4 ± 0.3" in percent points.
inline std::string pct(const mean_and_std& m) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.1f ± %.1f", 100.0 * m.mean, 100.0 * m.stddev);
  return buf;
}

template <class Row, class Key, class Value>
std::map<Key, mean_and_std> aggregate(const std::vector<Row>& rows, Key (*key)(const Row&), Value value) {
  std::map<Key, std::vector<double>> groups;
  for (const Row& r : rows) groups[key(r)].push_back(value(r));
  std::map<Key, mean_and_std> out;
  for (const auto& [k, v] : groups) out[k] = mean_std(v);
  return out;
}

using extraction_key = std::tuple<std::string, std::string, std::string, double, std::string, int, std::string,
                                  std::string>;  // family, defense, granularity, level, victim, rank, budget, mode
inline extraction_key key_of(const extraction_row& r) {
  return {r.family, r.defense, r.granularity, r.level, r.victim_id, r.victim_rank, r.budget, r.mode};
}

inline void write_text(const std::filesystem::path& path, const std::string& text) {
  write_file_atomically(path, [&](file_sink& sink) { sink.write(text.data(), text.size()); });
}

}  // namespace report_detail

inline nlohmann::ordered_json to_json(const experiment_result& r, const std::vector<fingerprint_cost_row>& cost) {
  nlohmann::ordered_json j;
  j["front"] = r.front_ids;
  j["seconds"] = r.seconds;
  j["extraction"] = nlohmann::ordered_json::array();
  for (const extraction_row& e : r.extraction)
    j["extraction"].push_back({{"seed", e.seed}, {"victim", e.victim_id}, {"victim_rank", e.victim_rank}, {"mode", e.mode},
                               {"budget", e.budget}, {"budget_queries", e.budget_queries}, {"defense", e.defense},
                               {"family", e.family}, {"level", e.level}, {"granularity", e.granularity},
                               {"queries", e.queries}, {"kept", e.kept}, {"accuracy", e.accuracy},
                               {"fidelity", e.fidelity}, {"victim_share", e.victim_share},
                               {"kept_victim_share", e.kept_victim_share}, {"part", e.part}});
  j["fingerprints"] = nlohmann::ordered_json::array();
  for (const fingerprint_row& f : r.fingerprints)
    j["fingerprints"].push_back({{"seed", f.seed}, {"victim", f.victim_id}, {"victim_rank", f.victim_rank},
                                 {"defense", f.defense}, {"family", f.family}, {"level", f.level},
                                 {"models_found", f.models_found}, {"census_signatures", f.census_signatures},
                                 {"queries", f.queries}, {"verified", f.verified}, {"found_victim", f.found_victim},
                                 {"trigger_accuracy", f.trigger_accuracy}, {"trigger_latency_ms", f.trigger_latency_ms}, {"part", f.part}});
  j["goodput"] = nlohmann::ordered_json::array();
  for (const goodput_row& g : r.goodput)
    j["goodput"].push_back({{"seed", g.seed}, {"defense", g.defense}, {"family", g.family}, {"level", g.level},
                            {"goodput_all", g.goodput_all}, {"goodput_answered", g.goodput_answered},
                            {"infeasible_fraction", g.infeasible_fraction}, {"mean_utility", g.mean_utility}});
  j["fingerprint_cost"] = nlohmann::ordered_json::array();
  for (const fingerprint_cost_row& c : cost)
    j["fingerprint_cost"].push_back({{"models", c.models}, {"precision", c.precision}, {"census_queries", c.census_queries},
                                     {"search_queries", c.search_queries}, {"verify_queries", c.verify_queries},
                                     {"bound", c.bound}, {"models_found", c.models_found}, {"verified", c.verified}});
  return j;
}

// Reads what to_json wrote, so tables and plots can be redrawn without rerunning the experiment.
inline experiment_result result_from_json(const nlohmann::json& j, std::vector<fingerprint_cost_row>& cost) {
  try {
    experiment_result r;
    r.front_ids = j.at("front").get<std::vector<std::string>>();
    r.seconds = j.at("seconds").get<double>();
    for (const auto& e : j.at("extraction"))
      r.extraction.push_back({e.at("seed"), e.at("victim_rank"), e.at("victim"), e.at("mode"), e.at("budget"),
                              e.at("defense"), e.at("family"), e.at("granularity"), e.at("level"), e.at("budget_queries"),
                              e.at("queries"), e.at("kept"), e.at("accuracy"), e.at("fidelity"), e.at("victim_share"),
                              e.at("kept_victim_share"), e.at("part")});
    for (const auto& f : j.at("fingerprints")) {
      fingerprint_row row{f.at("seed"), f.at("victim_rank"), f.at("victim"), f.at("defense"), f.at("family"), f.at("level")};
      row.models_found = f.at("models_found");
      row.census_signatures = f.at("census_signatures");
      row.queries = f.at("queries");
      row.verified = f.at("verified");
      row.found_victim = f.at("found_victim");
      row.trigger_accuracy = f.at("trigger_accuracy");
      row.trigger_latency_ms = f.at("trigger_latency_ms").is_number() ? f.at("trigger_latency_ms").get<double>()
                                                                     : std::numeric_limits<double>::infinity();
      row.part = f.at("part");
      r.fingerprints.push_back(row);
    }
    for (const auto& g : j.at("goodput"))
      r.goodput.push_back({g.at("seed"), g.at("defense"), g.at("family"), g.at("level"), g.at("goodput_all"),
                           g.at("goodput_answered"), g.at("infeasible_fraction"), g.at("mean_utility")});
    cost.clear();
    for (const auto& c : j.at("fingerprint_cost"))
      cost.push_back({c.at("models"), c.at("precision"), c.at("census_queries"), c.at("search_queries"),
                      c.at("verify_queries"), c.at("bound"), c.at("models_found"), c.at("verified")});
    return r;
  } catch (const nlohmann::json::exception& e) {
    throw error(std::string("attack experiment JSON: ") + e.what());
  }
}

// E1 table: rows victim x budget, columns accuracy / fidelity per mode (undefended server).
inline std::string extraction_table(const experiment_result& r) {
  using namespace report_detail;
  std::vector<extraction_row> plain;
  for (const extraction_row& e : r.extraction)
    if (e.part == "modes") plain.push_back(e);
  const auto acc = aggregate(plain, &key_of, [](const extraction_row& e) { return e.accuracy; });
  const auto fid = aggregate(plain, &key_of, [](const extraction_row& e) { return e.fidelity; });
  const auto share = aggregate(plain, &key_of, [](const extraction_row& e) { return e.victim_share; });
  std::vector<std::string> modes, budgets;
  std::vector<std::pair<int, std::string>> victims;
  for (const extraction_row& e : plain) {
    if (std::find(modes.begin(), modes.end(), e.mode) == modes.end()) modes.push_back(e.mode);
    if (std::find(budgets.begin(), budgets.end(), e.budget) == budgets.end()) budgets.push_back(e.budget);
    if (std::find(victims.begin(), victims.end(), std::pair{e.victim_rank, e.victim_id}) == victims.end())
      victims.emplace_back(e.victim_rank, e.victim_id);
  }
  std::string md = "| victim | budget |";
  for (const std::string& m : modes) md += " " + m + " acc | " + m + " fid |";
  md += " naive victim share |\n|---|---|";
  for (std::size_t i = 0; i < modes.size(); ++i) md += "---|---|";
  md += "---|\n";
  for (const auto& [rank, id] : victims)
    for (const std::string& b : budgets) {
      md += "| " + id + " (rank " + std::to_string(rank) + ") | " + b + " |";
      for (const std::string& m : modes) {
        const extraction_key k{"none", "none", "per-request", 0.0, id, rank, b, m};
        md += acc.count(k) ? " " + pct(acc.at(k)) + " | " + pct(fid.at(k)) + " |" : " - | - |";
      }
      const extraction_key nk{"none", "none", "per-request", 0.0, id, rank, b, "naive"};
      md += share.count(nk) ? " " + pct(share.at(nk)) + " |\n" : " - |\n";
    }
  return md;
}

// E2 table: one row per defense level.
inline std::string defense_table(const experiment_result& r) {
  using namespace report_detail;
  std::map<std::tuple<std::string, double>, std::vector<const goodput_row*>> levels;
  std::vector<std::tuple<std::string, double>> order;
  for (const goodput_row& g : r.goodput) {
    const auto k = std::tuple{g.family, g.level};
    if (!levels.count(k)) order.push_back(k);
    levels[k].push_back(&g);
  }
  const auto stat = [&](const std::string& family, double level, const std::string& mode, const std::string& gran,
                        double extraction_row::*field) {
    std::vector<double> v;
    for (const extraction_row& e : r.extraction)
      if (e.part == "sweep" && e.family == family && e.level == level && e.mode == mode && e.granularity == gran)
        v.push_back(e.*field);
    return v.empty() ? std::string("-") : pct(mean_std(v));
  };
  std::string md =
      "| defense | level | goodput (all) | goodput (answered) | mean l1 utility | victim-trigger rate | fingerprint acc | "
      "fingerprint fid | +filter per-request acc | +filter per-request fid | +filter per-request kept victim share | "
      "+filter per-input acc | +filter per-input fid | +filter per-input kept victim share | "
      "fingerprinter under defense: found victim |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& [family, level] : order) {
    std::vector<double> all, answered, utility;
    for (const goodput_row* g : levels[{family, level}]) {
      all.push_back(g->goodput_all);
      answered.push_back(g->goodput_answered);
      utility.push_back(g->mean_utility);
    }
    std::vector<double> found;
    for (const fingerprint_row& f : r.fingerprints)
      if (f.part == "sweep" && f.family == family && f.level == level) found.push_back(f.found_victim);
    char lv[32];
    std::snprintf(lv, sizeof lv, "%g", level);
    md += "| " + family + " | " + lv + " | " + pct(mean_std(all)) + " | " + pct(mean_std(answered)) + " | " +
          pct(mean_std(utility)) + " | " + stat(family, level, "fingerprint", "per-request", &extraction_row::victim_share) +
          " | " + stat(family, level, "fingerprint", "per-request", &extraction_row::accuracy) + " | " +
          stat(family, level, "fingerprint", "per-request", &extraction_row::fidelity) + " | " +
          stat(family, level, "fingerprint+filter", "per-request", &extraction_row::accuracy) + " | " +
          stat(family, level, "fingerprint+filter", "per-request", &extraction_row::fidelity) + " | " +
          stat(family, level, "fingerprint+filter", "per-request", &extraction_row::kept_victim_share) + " | " +
          stat(family, level, "fingerprint+filter", "per-input", &extraction_row::accuracy) + " | " +
          stat(family, level, "fingerprint+filter", "per-input", &extraction_row::fidelity) + " | " +
          stat(family, level, "fingerprint+filter", "per-input", &extraction_row::kept_victim_share) + " | " +
          (found.empty() ? std::string("-") : pct(mean_std(found))) + " |\n";
  }
  return md;
}

inline std::string fingerprint_table(const experiment_result& r) {
  std::map<std::string, std::vector<const fingerprint_row*>> by_victim;
  for (const fingerprint_row& f : r.fingerprints)
    if (f.part == "modes") by_victim[f.victim_id].push_back(&f);
  std::string md = "| victim | rank | models found | census signatures | queries | verified | true victim |\n|---|---|---|---|---|---|---|\n";
  for (const auto& [id, rows] : by_victim) {
    std::int64_t found = 0, census = 0, queries = 0, verified = 0, truth = 0;
    for (const fingerprint_row* f : rows) {
      found += f->models_found, census += f->census_signatures, queries += f->queries;
      verified += f->verified, truth += f->found_victim;
    }
    const auto n = static_cast<double>(rows.size());
    char line[256];
    std::snprintf(line, sizeof line, "| %s | %d | %.1f | %.1f | %.1f | %lld/%zu | %lld/%zu |\n", id.c_str(),
                  rows.front()->victim_rank, static_cast<double>(found) / n, static_cast<double>(census) / n,
                  static_cast<double>(queries) / n, static_cast<long long>(verified), rows.size(),
                  static_cast<long long>(truth), rows.size());
    md += line;
  }
  return md;
}

inline std::string cost_table(const std::vector<fingerprint_cost_row>& cost) {
  std::string md = "| front models | precision | census | search | verify | total | bound | found | verified |\n"
                   "|---|---|---|---|---|---|---|---|---|\n";
  for (const fingerprint_cost_row& c : cost) {
    char line[256];
    std::snprintf(line, sizeof line, "| %zu | %g | %lld | %lld | %lld | %lld | %lld | %lld | %s |\n", c.models, c.precision,
                  static_cast<long long>(c.census_queries), static_cast<long long>(c.search_queries),
                  static_cast<long long>(c.verify_queries),
                  static_cast<long long>(c.census_queries + c.search_queries + c.verify_queries),
                  static_cast<long long>(c.bound), static_cast<long long>(c.models_found), c.verified ? "yes" : "no");
    md += line;
  }
  return md;
}

// Protection against goodput, one series per defense family: x = goodput over the workload, y = how
// far `metric` of the plain fingerprint attack falls below the undefended server's, in points (means
// over seeds). Every series starts at the undefended point (goodput 1, no protection).
inline image::line_plot protection_plot(const experiment_result& r, const std::string& title, const std::string& y_label,
                                        double extraction_row::*metric) {
  image::line_plot p{title, "goodput: share of feasible workload specs served by a model that meets them", y_label, {}};
  std::map<std::tuple<std::string, double>, std::vector<double>> good, value;
  for (const goodput_row& g : r.goodput) good[{g.family, g.level}].push_back(g.goodput_all);
  for (const extraction_row& e : r.extraction)
    if (e.part == "sweep" && e.mode == "fingerprint" && e.granularity == "per-request")
      value[{e.family, e.level}].push_back(e.*metric);
  const std::tuple<std::string, double> none{"none", 0.0};
  if (!good.count(none) || !value.count(none)) return p;
  const double base_x = mean_std(good[none]).mean, base_y = mean_std(value[none]).mean;
  std::vector<std::string> families;
  std::map<std::string, std::vector<std::pair<double, double>>> series;
  for (const auto& [k, g] : good) {
    const std::string& family = std::get<0>(k);
    if (family == "none" || !value.count(k)) continue;
    if (!series.count(family)) families.push_back(family), series[family].emplace_back(base_x, 0.0);
    series[family].emplace_back(mean_std(g).mean, 100.0 * (base_y - mean_std(value[k]).mean));
  }
  for (const std::string& family : families) {
    auto points = series[family];
    std::sort(points.begin(), points.end());
    image::plot_series s{family, {}, {}};
    for (const auto& [x, y] : points) s.x.push_back(x), s.y.push_back(y);
    p.series.push_back(std::move(s));
  }
  return p;
}

// Writes dir/psml_attack.json, dir/psml_attack_tables.md and the two protection-vs-goodput PNGs.
inline void write_experiment_report(const std::filesystem::path& dir, const experiment_result& r,
                                    const std::vector<fingerprint_cost_row>& cost, const std::string& header) {
  std::filesystem::create_directories(dir);
  report_detail::write_text(dir / "psml_attack.json", to_json(r, cost).dump(1) + "\n");
  std::string md = header + "\n### Extraction (undefended server; accuracy and fidelity in %, mean ± std over seeds)\n\n" +
                   extraction_table(r) + "\n### Fingerprinting (undefended server, mean over seeds)\n\n" +
                   fingerprint_table(r);
  if (!r.goodput.empty())
    md += "\n### Defense sweep (victim rank of the sweep, medium budget; %, mean ± std over seeds)\n\n" + defense_table(r);
  if (!cost.empty()) md += "\n### Fingerprinting cost (synthetic fronts, queries)\n\n" + cost_table(cost);
  report_detail::write_text(dir / "psml_attack_tables.md", md);
  if (!r.goodput.empty()) {
    image::write_plot_png(dir / "psml_protection_fidelity.png",
                          protection_plot(r, "fidelity lost by the fingerprint attack (points) vs goodput", "points",
                                          &extraction_row::fidelity));
    image::write_plot_png(dir / "psml_protection_trigger.png",
                          protection_plot(r, "trigger answers not from the victim (%) vs goodput", "%",
                                          &extraction_row::victim_share));
  }
}

}  // namespace patchzoo::attack
