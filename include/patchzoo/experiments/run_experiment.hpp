#pragma once
// `patchzoo dpar experiment` as a library call: for each grid, tokenizer -> tokens -> entropy model ->
// patcher (theta fitted to the target mean length) -> baseline and DPAR trained with one recipe, data
// order and budget, evaluated along the way; then the 16x16 ablations. Writes the runs, sample grids and
// entropy maps under `out`; the caller writes the report (experiment_report.hpp).
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "patchzoo/data/fashion_mnist.hpp"
#include "patchzoo/experiments/ablation_runs.hpp"
#include "patchzoo/experiments/experiment_plots.hpp"
#include "patchzoo/pipeline/entropy_maps.hpp"

namespace patchzoo::dpar::experiment {

template <backend B>
  requires transformer_ops<B, float> && vq::vq_ops<B, float>
std::unique_ptr<vq::vq_tokenizer<B, float>> tokenizer_for(B& be, const experiment_config& c, const data::image_dataset& train,
                                                          int grid, const std::filesystem::path& out, const log_fn& log) {
  auto dir = out / "tokenizer";
  if (const auto given = c.tokenizers.find(grid); given != c.tokenizers.end()) {
    dir = given->second;
    check(pipeline::tokenizer_grid(dir) == grid, "dpar experiment", "tokenizer ", dir.string(), " was trained for grid ",
          pipeline::tokenizer_grid(dir), ", not ", grid);
  } else {
    pipeline::tokenizer_train_config t;
    t.grid = grid;
    t.model = c.tokenizer_model;
    t.train.steps = c.tokenizer_steps;
    t.train.batch = c.tokenizer_batch;
    t.train.lr = c.tokenizer_lr;
    t.train.warmup = std::min<std::int64_t>(100, c.tokenizer_steps / 10);
    t.train.checkpoint_every = 0;
    t.train.out_dir = dir;
    const auto r = pipeline::train_tokenizer(be, pipeline::tokenizer_input(train, grid), t);
    if (log) log("grid " + std::to_string(grid) + ": tokenizer trained, " + std::to_string(r.steps) + " steps, recon mse " +
                 std::to_string(r.last.recon_mse));
  }
  return vq::load_tokenizer(be, dir);
}

template <backend B>
  requires transformer_ops<B, float> && vq::vq_ops<B, float>
experiment_result run_experiment(B& be, const experiment_config& c, const std::filesystem::path& out, const log_fn& log = {}) {
  validate(c);
  check(!std::filesystem::exists(out) || std::filesystem::is_empty(out), "dpar experiment", "--out ", out.string(),
        " is not empty: choose a new directory (runs are not overwritten)");
  const auto start = std::chrono::steady_clock::now();
  const auto classifier = eval::zoo_features::load(c.zoo_dir);
  if (log) log("evaluation classifier: " + classifier.profile().id + " (" + classifier.profile().name + ")");
  auto fmnist = data::load_fashion_mnist(c.data_dir.empty() ? data::fashion_mnist_default_dir : c.data_dir);
  check(c.train_images <= fmnist.train.size() && c.reference_images <= fmnist.test.size(), "dpar experiment",
        "asks for ", c.train_images, " training and ", c.reference_images, " test images");
  std::vector<std::int64_t> first(static_cast<std::size_t>(c.train_images)), first_test(static_cast<std::size_t>(c.reference_images));
  for (std::size_t i = 0; i < first.size(); ++i) first[i] = static_cast<std::int64_t>(i);
  for (std::size_t i = 0; i < first_test.size(); ++i) first_test[i] = static_cast<std::int64_t>(i);
  const auto train_images = fmnist.train.subset(first);
  const auto test_images = fmnist.test.subset(first_test);
  const auto reference = eval::make_reference_set(classifier, classifier_images(test_images, c.reference_images));

  experiment_result result;
  result.ablation_steps = c.ablation_steps;
  for (std::size_t gi = 0; gi < c.grids.size(); ++gi) {
    const auto& setting = c.grids[gi];
    const auto dir = out / ("grid" + std::to_string(setting.grid));
    const auto say = [&](const std::string& s) { if (log) log("grid " + std::to_string(setting.grid) + ": " + s); };
    auto tokenizer = tokenizer_for(be, c, train_images, setting.grid, dir, log);
    grid_result g;
    g.grid = setting.grid;
    g.target_length = setting.target_length;
    grid_data d{pipeline::encode_images(be, *tokenizer, pipeline::tokenizer_input(train_images, setting.grid)), {}, {}, 0};
    g.tokens = d.tokens.tokens_per_image();
    g.codebook = d.tokens.codebook_size;
    {  // the tokenizer's floor: no generator can beat its own reconstructions
      const auto test_tokens = pipeline::encode_images(be, *tokenizer, pipeline::tokenizer_input(test_images, setting.grid));
      const auto recon = to_classifier_images(pipeline::decode_tokens(
          be, *tokenizer, pipeline::token_rows_of(test_tokens, test_tokens.count()), test_tokens.grid_h, test_tokens.grid_w));
      g.tokenizer_fid = eval::frechet_distance_from_statistics(
          reference.statistics, eval::compute_feature_statistics(classifier.features(recon)));
    }
    say("tokens ready, tokenizer floor FID-FMNIST " + std::to_string(g.tokenizer_fid));

    auto entropy_recipe = c.recipe;
    entropy_recipe.checkpoint_every = 0;
    const auto ent = train_entropies(be, d.tokens, c.entropy_model, entropy_recipe, dir / "entropy");
    d.entropies = ent.entropies;
    d.entropy_checkpoint = ent.checkpoint;
    g.entropy_nll = ent.mean_nll;
    const auto patching = pipeline::make_patcher(d.tokens, &d.entropies, {.target = setting.target_length});
    d.threshold = patching.patcher.threshold;
    g.threshold = patching.patcher.threshold;
    g.train_mean_length = patching.mean_length;
    say("entropy model NLL " + std::to_string(g.entropy_nll) + " nats, theta " + std::to_string(g.threshold) +
        " for mean patch length " + std::to_string(g.train_mean_length));

    evaluation_context<B> ctx{classifier, reference, *tokenizer, c.sampling};
    const auto evaluate = [&](const std::filesystem::path& ckpt) {
      return evaluate_checkpoint(be, ctx, ckpt, d.entropy_checkpoint, c.eval_samples);
    };
    auto recipe = c.recipe;
    recipe.checkpoint_every = 0;
    g.baseline = train_and_evaluate(
        "baseline", recipe, c.evaluations, d.tokens.count(),
        [&](const pipeline::train_recipe& r, pipeline::existing_checkpoint existing) {
          return pipeline::train_baseline(be, d.tokens, c.model, r, dir / "baseline", existing);
        },
        evaluate, say);
    g.dpar = train_and_evaluate(
        "DPAR", recipe, c.evaluations, d.tokens.count(),
        [&](const pipeline::train_recipe& r, pipeline::existing_checkpoint existing) {
          return pipeline::train_dpar(be, d.tokens, &d.entropies, patching.patcher, c.model, r, dir / "dpar", existing);
        },
        evaluate, say);
    // The final FID-FMNIST again with other sampling seeds: how much of a difference is sampling noise.
    for (const auto* run : {&g.baseline, &g.dpar}) {
      auto& fids = run == &g.baseline ? g.baseline_seed_fids : g.dpar_seed_fids;
      fids.push_back(run->curve.back().metrics.fid);
      for (std::int64_t k = 1; k < c.seed_repeats; ++k) {
        auto seeded = ctx;
        seeded.sampling.seed = c.sampling.seed + static_cast<std::uint64_t>(k);
        fids.push_back(evaluate_checkpoint(be, seeded, run->checkpoint, d.entropy_checkpoint, c.eval_samples).metrics.fid);
        say(run->name + ": final FID-FMNIST with sampling seed " + std::to_string(seeded.sampling.seed) + ": " +
            std::to_string(fids.back()));
      }
    }
    g.baseline_cost = pipeline::baseline_cost(pipeline::baseline_config(d.tokens, c.model, c.recipe.dropout));
    g.dpar_cost = pipeline::dpar_cost(pipeline::dpar_config_for(d.tokens, c.model, c.recipe.dropout), patching.mean_patches);

    g.baseline_grid = dir / "baseline_samples.png";
    g.dpar_grid = dir / "dpar_samples.png";
    write_sample_grid(g.baseline_grid, g.baseline.last, c.grid_columns);
    write_sample_grid(g.dpar_grid, g.dpar.last, c.grid_columns);
    for (const auto& m : pipeline::write_entropy_maps(be, *tokenizer, d.tokens, d.entropies, 3, dir / "entropy_maps").maps)
      g.entropy_maps.push_back(m.png);
    const auto curves = write_convergence_plots(dir, g);
    g.curve_epochs = curves.first;
    g.curve_flops = curves.second;

    if (gi == 0 && c.ablations) result.ablations = run_ablations(be, c, d, ctx, dir / "ablations", say);
    result.grids.push_back(std::move(g));
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace patchzoo::dpar::experiment
