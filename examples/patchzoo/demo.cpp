// `patchzoo demo`: the whole DPAR pipeline in one process on Fashion-MNIST, sized for minutes on 2 cores:
// VQ tokenizer (16x16 grid) -> token file -> entropy model -> entropies and theta for a mean patch length
// of 1.81 -> DPAR and the same-width, same-depth LlamaGen baseline trained with one recipe -> class grids
// of both (CFG) decoded by the tokenizer -> entropy maps -> <out>/report.md with the token and FLOP
// reductions, measured training times and the pictures. Checkpoints stay in <out> for `patchzoo dpar sample`.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <numeric>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "patchzoo/data/fashion_mnist.hpp"
#include "patchzoo/dpar/model_checkpoint.hpp"
#include "patchzoo/io/atomic_file.hpp"
#include "patchzoo/pipeline/dpar_step.hpp"
#include "patchzoo/pipeline/entropy_maps.hpp"
#include "patchzoo/pipeline/entropy_step.hpp"
#include "patchzoo/pipeline/sample_step.hpp"
#include "patchzoo/pipeline/tokenizer_step.hpp"
#include "patchzoo/util/progress.hpp"
#include "patchzoo/util/report.hpp"
#include "patchzoo/vq/vq_metrics.hpp"
#include "backend_choice.hpp"
#include "subcommands.hpp"

namespace {

using namespace patchzoo;
namespace fs = std::filesystem;

struct demo_options {
  std::string out = "runs/demo", backend = "eigen", data = data::fashion_mnist_default_dir.string();
  bool quick = false, json = false;
};

// Every size of the run. The default fits 10 minutes on 2 cores; --quick is a smoke run of a few minutes
// whose samples are still noise.
struct demo_plan {
  std::int64_t tokenizer_images, tokenizer_steps, eval_images, ar_images;
  std::int64_t entropy_steps, ar_steps, per_class;
  pipeline::entropy_model_options entropy{.dim = 128, .layers = 2, .heads = 2};
  pipeline::ar_model_options model{.dim = 128, .heads = 2, .layers = 4, .encoder_layers = 1, .global_layers = 2,
                                   .decoder_layers = 1, .classes = 10};
  double target_mean_length = 1.81;
  int max_patch = 4;
  double cfg = 2.0;
};

demo_plan plan_for(bool quick) {
  if (quick) return {.tokenizer_images = 4000, .tokenizer_steps = 60, .eval_images = 500, .ar_images = 1000,
                     .entropy_steps = 40, .ar_steps = 40, .per_class = 1};
  return {.tokenizer_images = 20000, .tokenizer_steps = 200, .eval_images = 2000, .ar_images = 6400,
          .entropy_steps = 150, .ar_steps = 350, .per_class = 3};
}

pipeline::train_recipe recipe_of(std::int64_t steps) {
  return {.steps = steps, .batch = 32, .lr = 1e-3, .warmup = std::min<std::int64_t>(20, steps / 4), .dropout = 0.1,
          .checkpoint_every = 0, .seed = 1};
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return in ? one + " " + five + " " + fifteen : std::string("unknown");
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// Numbered phases on stderr: a progress line per phase, then its time and a one-line result.
class phase_display {
 public:
  explicit phase_display(int phases) : phases_(phases) {}

  progress& start(const std::string& name, std::int64_t total, const std::string& unit = "it") {
    ++index_;
    name_ = name;
    label_ = "[" + std::to_string(index_) + "/" + std::to_string(phases_) + "] " + name;
    bar_ = std::make_unique<progress>(label_, total, progress_options{.unit = unit});
    started_ = std::chrono::steady_clock::now();
    return *bar_;
  }

  void finish(const std::string& result) {
    bar_->finish();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    std::cerr << label_ << ": " << fixed(s, 1) << " s | " << result << "\n";
    timings_.emplace_back(name_, s);
  }

  const std::vector<std::pair<std::string, double>>& timings() const { return timings_; }

 private:
  int phases_, index_ = 0;
  std::string name_, label_;
  std::unique_ptr<progress> bar_;
  std::chrono::steady_clock::time_point started_;
  std::vector<std::pair<std::string, double>> timings_;
};

pipeline::training_hooks bar_hooks(progress& bar) {
  return {.on_start = {}, .on_step = [&bar](const dpar::train_step_log& s) {
            bar.update(s.step, "loss " + fixed(s.loss, 3));
          }};
}

// The outputs of an earlier run: the trainers would resume or refuse them, and stale files would mix in.
void clear_outputs(const fs::path& out) {
  for (const char* name : {"tokenizer", "entropy", "dpar", "baseline", "entropy_maps", "train.pztok", "train.entropy",
                           "tokenizer_reconstructions.png", "dpar_samples.png", "baseline_samples.png", "report.md"})
    fs::remove_all(out / name);
  fs::create_directories(out);
}

struct demo_results {
  vq::vq_eval_result tokenizer;
  double entropy_nll = 0;
  pipeline::patch_threshold theta;
  pipeline::training_summary entropy_run, dpar_run, baseline_run;
  pipeline::per_image_cost dpar_cost, baseline_cost;
  pipeline::sample_result dpar_samples, baseline_samples;
  pipeline::entropy_maps_result maps;
  std::string load_before, load_after;
};

double reduction(double dpar, double baseline) { return 1.0 - dpar / baseline; }

std::string percent(double fraction) { return fixed(100.0 * fraction, 1) + " %"; }

std::string command_line(const demo_options& o) {
  std::string cmd = "patchzoo demo --out " + o.out;
  if (o.quick) cmd += " --quick";
  if (o.backend != "eigen") cmd += " --backend " + o.backend;
  if (o.data != data::fashion_mnist_default_dir.string()) cmd += " --data " + o.data;
  const char* threads = std::getenv("OMP_NUM_THREADS");
  return threads ? "OMP_NUM_THREADS=" + std::string(threads) + " " + cmd : cmd;
}

std::string markdown_report(const demo_options& o, const demo_plan& p, const demo_results& r,
                            const std::vector<std::pair<std::string, double>>& timings, double total) {
  const double tokens = static_cast<double>(r.dpar_samples.grid_h * r.dpar_samples.grid_w);
  const auto& d = r.dpar_cost;
  const auto& b = r.baseline_cost;
  std::ostringstream m;
  m << "# patchzoo demo: DPAR vs LlamaGen on Fashion-MNIST\n\n"
    << "Command: `" << command_line(o) << "`  \n"
    << "Wall time " << fixed(total, 0) << " s (all phases and data loading); load average (1/5/15 min) "
    << r.load_before << " before, " << r.load_after
    << " after. A small, short run: the numbers show the pipeline working, not a result about DPAR.\n\n"
    << "## Tokens and patches\n\n"
    << "| | value |\n|---|---|\n"
    << "| VQ tokenizer | " << tokens << " tokens per image (" << r.dpar_samples.grid_h << "x" << r.dpar_samples.grid_w
    << "), codebook " << percent(r.tokenizer.codebook_usage) << " used, perplexity " << fixed(r.tokenizer.perplexity, 0)
    << " |\n"
    << "| tokenizer PSNR (" << r.tokenizer.images << " test images) | " << fixed(r.tokenizer.psnr, 2) << " dB |\n"
    << "| entropy model NLL on the " << r.entropy_run.images << " training grids | " << fixed(r.entropy_nll, 3)
    << " nats/token |\n"
    << "| theta (target mean patch length " << p.target_mean_length << ", P_max " << p.max_patch << ", row resets) | "
    << fixed(r.theta.patcher.threshold, 3) << " nats |\n"
    << "| token reduction of the global sequence: T -> mean patches M | " << tokens << " -> "
    << fixed(r.theta.mean_patches, 1) << " (mean length " << fixed(r.theta.mean_length, 3) << ", "
    << percent(r.theta.token_reduction) << " fewer) |\n\n"
    << "![tokenizer: originals above reconstructions](tokenizer_reconstructions.png)\n\n"
    << "## DPAR vs the baseline (same width " << p.model.dim << ", same depth " << p.model.layers << ", same recipe)\n\n"
    << "Both: " << r.dpar_run.steps << " steps of " << r.dpar_run.batch << " images from " << r.dpar_run.images
    << " training grids, AdamW lr 1e-3, dropout 0.1, seed 1. DPAR: local encoder " << p.model.encoder_layers
    << " / global " << p.model.global_layers << " / decoder " << p.model.decoder_layers
    << " blocks. FLOPs per image from `dpar/flops.hpp` with M = " << fixed(r.theta.mean_patches, 1) << ".\n\n"
    << "| | DPAR | LlamaGen baseline | DPAR saves |\n|---|---|---|---|\n"
    << "| parameters | " << d.parameters << " | " << b.parameters << " | |\n"
    << "| forward GMACs per image, paper convention (linear layers) | " << fixed(d.paper_macs / 1e9, 4) << " | "
    << fixed(b.paper_macs / 1e9, 4) << " | " << percent(reduction(d.paper_macs, b.paper_macs)) << " |\n"
    << "| training GFLOPs per image, full convention (attention, 3 x forward) | " << fixed(d.training_flops / 1e9, 3)
    << " | " << fixed(b.training_flops / 1e9, 3) << " | " << percent(reduction(d.training_flops, b.training_flops))
    << " |\n"
    << "| training FLOPs counted by the trainer (actual patches) | " << fixed(r.dpar_run.train_flops / 1e12, 2)
    << " T | " << fixed(r.baseline_run.train_flops / 1e12, 2) << " T | "
    << percent(reduction(r.dpar_run.train_flops, r.baseline_run.train_flops)) << " |\n"
    << "| measured training time | " << fixed(r.dpar_run.seconds, 1) << " s | " << fixed(r.baseline_run.seconds, 1)
    << " s | " << percent(reduction(r.dpar_run.seconds, r.baseline_run.seconds)) << " |\n"
    << "| training loss, mean of the last 50 steps | " << fixed(r.dpar_run.mean_loss_last_50, 3) << " | "
    << fixed(r.baseline_run.mean_loss_last_50, 3) << " | |\n"
    << "| sampling " << r.dpar_samples.tokens.size() << " images (CFG " << p.cfg << ") | "
    << fixed(r.dpar_samples.seconds, 1) << " s | " << fixed(r.baseline_samples.seconds, 1) << " s | |\n"
    << "| global steps per sampled image | " << fixed(r.dpar_samples.global_steps_per_image, 1) << " | "
    << fixed(r.baseline_samples.global_steps_per_image, 0) << " | |\n\n"
    << "The entropy model (" << r.entropy_run.parameters << " parameters, " << fixed(r.entropy_run.seconds, 1)
    << " s of training) is trained once and not counted above, as in the paper.\n\n"
    << "### Samples, one row per class (DPAR left, baseline right)\n\n"
    << "![DPAR samples](dpar_samples.png) ![baseline samples](baseline_samples.png)\n\n"
    << "## Entropy maps (low, medium, high total entropy; one colour scale "
    << fixed(r.maps.scale_min, 2) << " - " << fixed(r.maps.scale_max, 2) << " nats)\n\n"
    << "A token whose entropy is above theta starts a new patch; tokens at or below theta join the patch before them "
       "(up to P_max tokens, never across a row end).\n\n";
  for (const auto& map : r.maps.maps)
    m << "![entropy map of image " << map.image << "](" << fs::relative(map.png, o.out).string() << ") ";
  m << "\n\n## Phases\n\n| phase | seconds |\n|---|---|\n";
  for (const auto& [name, s] : timings) m << "| " << name << " | " << fixed(s, 1) << " |\n";
  m << "\n## Reuse\n\n```sh\npatchzoo dpar sample --checkpoint "
    << (fs::path(o.out) / "dpar/checkpoint.safetensors").string()
    << " --entropy-model " << (fs::path(o.out) / "entropy/checkpoint.safetensors").string() << " --tokenizer "
    << (fs::path(o.out) / "tokenizer").string() << " --classes 0-9 --per-class 4 --out more_samples.png\n```\n";
  return m.str();
}

template <class B>
void run_demo(const demo_options& o) {
  B be;
  const demo_plan p = plan_for(o.quick);
  const fs::path out(o.out);
  data::check_fashion_mnist_dir(o.data);  // before clear_outputs: a wrong --data must not touch --out
  clear_outputs(out);
  demo_results r;
  const auto wall_start = std::chrono::steady_clock::now();
  r.load_before = load_average();
  phase_display phases(10);
  std::cerr << "patchzoo demo" << (o.quick ? " --quick" : "") << ": DPAR pipeline into " << out.string() << ", backend "
            << B::name << ", load average " << r.load_before << "\n";

  // 1-2. Tokenizer.
  pipeline::tokenizer_train_config tc;
  tc.train = {.steps = p.tokenizer_steps, .batch = 32, .lr = 2e-3, .warmup = p.tokenizer_steps / 10,
              .checkpoint_every = 0, .seed = 1, .out_dir = out / "tokenizer"};
  tc.model.dead_code_steps = 50;
  const auto train_images = pipeline::load_tokenizer_images(o.data, "train", p.tokenizer_images, 16);
  auto& tok_bar = phases.start("tokenizer training", p.tokenizer_steps);
  const pipeline::tokenizer_hooks tok_hooks{
      .on_start = {},
      .on_step = [&](const vq::vq_step_log& s) { tok_bar.update(s.step, "mse " + fixed(s.recon_mse, 4)); }};
  const auto tok_run = pipeline::train_tokenizer(be, train_images, tc, tok_hooks);
  phases.finish(std::to_string(tok_run.parameters) + " parameters, final batch mse " +
                fixed(tok_run.last.recon_mse, 4));
  auto tokenizer = vq::load_tokenizer(be, out / "tokenizer");
  const auto test_images = pipeline::load_tokenizer_images(o.data, "test", p.eval_images, 16);
  auto& eval_bar = phases.start("tokenizer PSNR", test_images.size(), "img");
  r.tokenizer = vq::evaluate_tokenizer(be, *tokenizer, test_images, 256, [&](std::int64_t n) { eval_bar.update(n); });
  {
    std::vector<std::int64_t> first(16);
    std::iota(first.begin(), first.end(), 0);
    const auto batch = data::make_batch(test_images, first, data::pixel_range::minus_one_one);
    image::write_png(out / "tokenizer_reconstructions.png",
                     pipeline::reconstruction_grid(batch.images, tokenizer->reconstruct(be, batch.images), 8));
  }
  phases.finish("PSNR " + fixed(r.tokenizer.psnr, 2) + " dB, codebook usage " + percent(r.tokenizer.codebook_usage));

  // 3. Token file of the autoregressive models' training images.
  std::vector<std::int64_t> first_ar(static_cast<std::size_t>(std::min(p.ar_images, train_images.size())));
  std::iota(first_ar.begin(), first_ar.end(), 0);
  auto& enc_bar = phases.start("encode", static_cast<std::int64_t>(first_ar.size()), "img");
  const auto tokens = pipeline::encode_images(be, *tokenizer, train_images.subset(first_ar),
                                              [&](std::int64_t n) { enc_bar.update(n); });
  data::write_token_file(out / "train.pztok", tokens);
  phases.finish(std::to_string(tokens.count()) + " grids of 16x16 -> train.pztok");

  // 4-6. Entropy model, entropies, theta, maps.
  auto& ent_bar = phases.start("entropy model", p.entropy_steps);
  r.entropy_run = pipeline::train_entropy_model(be, tokens, p.entropy, recipe_of(p.entropy_steps), out / "entropy",
                                                pipeline::existing_checkpoint::refuse, bar_hooks(ent_bar));
  phases.finish("loss " + fixed(r.entropy_run.mean_loss_last_50, 3) + " nats/token (last 50 steps)");
  auto entropy_model = dpar::load_llamagen(be, r.entropy_run.checkpoint);
  auto& h_bar = phases.start("entropies + theta", tokens.count(), "img");
  const auto pass = pipeline::compute_entropies(be, *entropy_model, tokens, 64, [&](std::int64_t n) { h_bar.update(n); });
  dpar::write_entropy_file(out / "train.entropy", pass.entropies);
  r.entropy_nll = pass.mean_nll;
  r.theta = pipeline::threshold_for_mean_length(pass.entropies, p.target_mean_length, p.max_patch,
                                                dpar::patching_mode::entropy_row_boundary);
  phases.finish("theta " + fixed(r.theta.patcher.threshold, 3) + " nats, mean patch length " +
                fixed(r.theta.mean_length, 3) + ", M " + fixed(r.theta.mean_patches, 1) + " of 256");
  phases.start("entropy maps", 3);
  r.maps = pipeline::write_entropy_maps(be, *tokenizer, tokens, pass.entropies, 3, out / "entropy_maps");
  phases.finish(std::to_string(r.maps.maps.size()) + " maps in entropy_maps/");

  // 7-8. DPAR and the baseline: one recipe, same width, same total depth.
  const auto recipe = recipe_of(p.ar_steps);
  auto& dpar_bar = phases.start("DPAR training", p.ar_steps);
  r.dpar_run = pipeline::train_dpar(be, tokens, &pass.entropies, r.theta.patcher, p.model, recipe, out / "dpar", pipeline::existing_checkpoint::refuse,
                                    bar_hooks(dpar_bar));
  phases.finish(fixed(r.dpar_run.seconds, 1) + " s training, loss " + fixed(r.dpar_run.mean_loss_last_50, 3));
  auto& base_bar = phases.start("baseline training", p.ar_steps);
  r.baseline_run = pipeline::train_baseline(be, tokens, p.model, recipe, out / "baseline", pipeline::existing_checkpoint::refuse, bar_hooks(base_bar));
  phases.finish(fixed(r.baseline_run.seconds, 1) + " s training, loss " + fixed(r.baseline_run.mean_loss_last_50, 3));
  r.dpar_cost = pipeline::dpar_cost(pipeline::dpar_config_for(tokens, p.model, recipe.dropout), r.theta.mean_patches);
  r.baseline_cost = pipeline::baseline_cost(pipeline::baseline_config(tokens, p.model, recipe.dropout));

  // 9. Class grids of both models from their checkpoints (what `dpar sample` would draw).
  std::vector<std::int32_t> classes(10);
  std::iota(classes.begin(), classes.end(), 0);
  const auto labels = pipeline::class_labels(classes, p.per_class);
  const dpar::sampling_config sc{.cfg_scale = p.cfg, .temperature = 1.0, .top_k = 0, .top_p = 1.0, .seed = 1};
  auto& sample_bar = phases.start("sampling", 2 * tokens.tokens_per_image(), "token");
  r.dpar_samples = pipeline::sample_checkpoint(be, r.dpar_run.checkpoint, r.entropy_run.checkpoint, labels, sc,
                                               tokens.codebook_size, {}, [&](std::int64_t t) { sample_bar.update(t); });
  const std::int64_t t_img = tokens.tokens_per_image();
  r.baseline_samples = pipeline::sample_checkpoint(be, r.baseline_run.checkpoint, {}, labels, sc, tokens.codebook_size,
                                                   {}, [&](std::int64_t t) { sample_bar.update(t_img + t); });
  for (const auto* s : {&r.dpar_samples, &r.baseline_samples})
    pipeline::write_class_grid(out / (s == &r.dpar_samples ? "dpar_samples.png" : "baseline_samples.png"),
                               pipeline::decode_tokens(be, *tokenizer, s->tokens, s->grid_h, s->grid_w), classes,
                               p.per_class, 10);
  phases.finish("DPAR " + fixed(r.dpar_samples.seconds, 1) + " s (" + fixed(r.dpar_samples.global_steps_per_image, 1) +
                " global steps per image), baseline " + fixed(r.baseline_samples.seconds, 1) + " s");

  // 10. Report.
  phases.start("report", 1);
  r.load_after = load_average();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  const std::string md = markdown_report(o, p, r, phases.timings(), wall);
  write_file_atomically(out / "report.md", [&](file_sink& sink) { sink.write(md.data(), md.size()); });
  phases.finish((out / "report.md").string());

  report j;
  j["out"] = out.string();
  j["command"] = command_line(o);
  j["tokenizer_psnr"] = r.tokenizer.psnr;
  j["theta"] = r.theta.patcher.threshold;
  j["mean_patch_length"] = r.theta.mean_length;
  j["tokens_per_image"] = tokens.tokens_per_image();
  j["mean_patches"] = r.theta.mean_patches;
  j["token_reduction"] = r.theta.token_reduction;
  j["dpar"] = {{"parameters", r.dpar_cost.parameters}, {"paper_gmacs_per_image", r.dpar_cost.paper_macs / 1e9},
               {"train_gflops_per_image", r.dpar_cost.training_flops / 1e9}, {"train_seconds", r.dpar_run.seconds},
               {"mean_loss_last_50", r.dpar_run.mean_loss_last_50}, {"sample_seconds", r.dpar_samples.seconds},
               {"checkpoint", r.dpar_run.checkpoint.string()}};
  j["baseline"] = {{"parameters", r.baseline_cost.parameters}, {"paper_gmacs_per_image", r.baseline_cost.paper_macs / 1e9},
                   {"train_gflops_per_image", r.baseline_cost.training_flops / 1e9},
                   {"train_seconds", r.baseline_run.seconds}, {"mean_loss_last_50", r.baseline_run.mean_loss_last_50},
                   {"sample_seconds", r.baseline_samples.seconds}, {"checkpoint", r.baseline_run.checkpoint.string()}};
  j["paper_flop_reduction"] = reduction(r.dpar_cost.paper_macs, r.baseline_cost.paper_macs);
  j["full_flop_reduction"] = reduction(r.dpar_cost.training_flops, r.baseline_cost.training_flops);
  j["train_time_saving"] = reduction(r.dpar_run.seconds, r.baseline_run.seconds);
  for (const auto& [name, s] : phases.timings()) j["phase_seconds"][name] = s;
  j["wall_seconds"] = wall;
  j["load_average_before"] = r.load_before;
  j["load_average_after"] = r.load_after;
  j["report"] = (out / "report.md").string();
  j.emit(o.json);
}

}  // namespace

void register_demo(CLI::App& app) {
  auto o = std::make_shared<demo_options>();
  auto* demo = app.add_subcommand("demo", "The whole DPAR pipeline in minutes: tokenizer, entropy model, DPAR vs "
                                          "baseline, sample grids, entropy maps, <out>/report.md");
  add_backend_option(demo, o->backend);
  demo->add_option("--out", o->out, "output directory (its earlier demo outputs are replaced)");
  demo->add_option("--data", o->data, "Fashion-MNIST directory (IDX .gz files)");
  demo->add_flag("--quick", o->quick, "a smoke run of a few minutes at a tiny scale (its samples are still noise)");
  demo->add_flag("--json", o->json, "print one JSON object on stdout");
  demo->callback([o] { with_cpu_backend(o->backend, [&]<class B>() { run_demo<B>(*o); }); });
}
