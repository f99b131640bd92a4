// `patchzoo dpar evaluate`: FID-FMNIST, IS, precision/recall and class accuracy of one baseline or DPAR
// checkpoint, sampled with one or more seeds (the spread of FID between seeds), with the sampling
// settings and DPAR's patcher changeable at inference time. The scoring is the experiment's
// (experiments/sample_evaluation.hpp), so its numbers compare with report.md's at equal sample counts.
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "backend_choice.hpp"
#include "patchzoo/core/error.hpp"
#include "patchzoo/data/fashion_mnist.hpp"
#include "patchzoo/experiments/sample_evaluation.hpp"
#include "patchzoo/dpar/model_checkpoint.hpp"
#include "patchzoo/eval/zoo_features.hpp"
#include "patchzoo/util/mean_std.hpp"
#include "patchzoo/util/report.hpp"
#include "patchzoo/vq/vq_checkpoint.hpp"
#include "sampling_options.hpp"
#include "subcommands.hpp"

namespace {

using namespace patchzoo;

struct evaluate_options {
  std::string backend = "eigen", checkpoint, entropy_model, tokenizer, zoo = "runs/zoo", data;
  std::int64_t reference = 2000, samples = 200;
  std::vector<std::uint64_t> seeds{7};
  dpar::sampling_config sampling;
  pipeline::patcher_overrides overrides;
  bool json = false;
};

template <class B>
void run_evaluate(const evaluate_options& o) {
  B be;
  check(o.samples >= 10 && o.samples % 10 == 0, "dpar evaluate", "--samples ", o.samples,
        " must be a positive multiple of 10 (the same number per class)");
  const auto meta = dpar::read_checkpoint_metadata(o.checkpoint);
  const auto tokens = dpar::metadata_detail::int_field(meta, "model.tokens");
  const auto grid = pipeline::tokenizer_grid(o.tokenizer);
  check(tokens == static_cast<std::int64_t>(grid) * grid, "dpar evaluate", o.checkpoint, " generates ", tokens,
        " tokens per image, but the tokenizer ", o.tokenizer, " has a ", grid, "x", grid, " grid");
  auto tokenizer = vq::load_tokenizer(be, o.tokenizer);
  const auto classifier = eval::zoo_features::load(o.zoo);
  const auto fmnist = data::load_fashion_mnist(o.data.empty() ? std::filesystem::path(data::fashion_mnist_default_dir) : std::filesystem::path(o.data));
  check(o.reference > 3 && o.reference <= fmnist.test.size(), "dpar evaluate", "--reference ", o.reference,
        " must be in [4, ", fmnist.test.size(), "] (test images)");
  const auto reference = eval::make_reference_set(classifier, dpar::experiment::classifier_images(fmnist.test, o.reference));
  dpar::experiment::evaluation_context<B> ctx{classifier, reference, *tokenizer, o.sampling};

  report r;
  r["checkpoint"] = o.checkpoint;
  r["classifier"] = classifier.profile().id;
  r["reference_images"] = o.reference;
  r["samples"] = o.samples;
  std::vector<double> fids;
  for (const auto seed : o.seeds) {
    ctx.sampling.seed = seed;
    const auto e = dpar::experiment::evaluate_checkpoint(be, ctx, o.checkpoint, o.entropy_model, o.samples, o.overrides);
    fids.push_back(e.metrics.fid);
    std::cerr << "dpar evaluate: seed " << seed << ": FID-FMNIST " << e.metrics.fid << " (" << e.sample_seconds
              << " s sampling)\n";
    r["per_seed"].push_back({{"seed", seed}, {"fid_fmnist", e.metrics.fid}, {"inception_score", e.metrics.inception_score},
                             {"precision", e.metrics.precision}, {"recall", e.metrics.recall},
                             {"class_accuracy", e.metrics.class_accuracy}, {"mean_patch_length", e.mean_patch_length},
                             {"global_steps_per_image", e.global_steps_per_image}, {"sample_seconds", e.sample_seconds}});
  }
  const auto spread = mean_std(fids);
  r["fid_fmnist_mean"] = spread.mean;
  r["fid_fmnist_sd"] = spread.stddev;
  r.emit(o.json);
}

}  // namespace

void register_dpar_evaluate(CLI::App& app) {
  auto* dp = app.get_subcommand("dpar");
  auto o = std::make_shared<evaluate_options>();
  auto* cmd = dp->add_subcommand("evaluate", "FID-FMNIST and the other sample metrics of one checkpoint, per sampling seed");
  cmd->add_option("--checkpoint", o->checkpoint, "DPAR or baseline checkpoint")->required()->check(CLI::ExistingFile);
  cmd->add_option("--entropy-model", o->entropy_model, "entropy model checkpoint (DPAR, entropy modes)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--tokenizer", o->tokenizer, "VQ tokenizer run directory")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--zoo", o->zoo, "classifier zoo directory (zoo.json); its most accurate CNN scores the samples")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--data", o->data, "Fashion-MNIST directory (default: the installed copy)")->check(CLI::ExistingDirectory);
  cmd->add_option("--reference", o->reference, "first N test images: the real side of FID")->check(CLI::PositiveNumber);
  cmd->add_option("--samples", o->samples, "generated images per seed, a multiple of 10")->check(CLI::PositiveNumber);
  cmd->add_option("--seeds", o->seeds, "sampling seeds (one evaluation each)")->delimiter(',');
  add_sampling_options(cmd, o->sampling, o->overrides);
  add_backend_option(cmd, o->backend);
  cmd->add_flag("--json", o->json, "print one JSON object on stdout");
  cmd->callback([o] { with_cpu_backend(o->backend, [&]<class B>() { run_evaluate<B>(*o); }); });
}
