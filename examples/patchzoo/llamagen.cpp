// `patchzoo llamagen sample`: class-conditional images from LlamaGen's own checkpoints, converted by
// scripts/convert-llamagen: the c2i GPT draws token grids as LlamaGen's sample_c2i does (CFG on the logits
// with --cfg-scale, temperature, top-k, top-p; KV-cached), the VQ-16 tokenizer decodes them to RGB, and a PNG
// grid shows one row per class (docs/interop.md).
//   patchzoo llamagen sample --gpt gpt_b.safetensors --vq vq16.safetensors --classes 207,360,387 --cfg-scale 4 --out grid.png
#include <cstdint>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "patchzoo/data/token_file.hpp"
#include "patchzoo/dpar/llamagen_import.hpp"
#include "patchzoo/image/grid.hpp"
#include "patchzoo/image/png.hpp"
#include "patchzoo/pipeline/sample_step.hpp"
#include "patchzoo/util/progress.hpp"
#include "patchzoo/util/report.hpp"
#include "patchzoo/vq/vq16_import.hpp"
#include "backend_choice.hpp"
#include "output_file.hpp"
#include "sampling_options.hpp"
#include "subcommands.hpp"

namespace {

using namespace patchzoo;

struct llamagen_options {
  std::string backend = "eigen", gpt, vq, class_list = "0", out, tokens_out;
  std::int64_t per_class = 1;
  dpar::sampling_config sampling{.cfg_scale = 4.0, .temperature = 1.0, .top_k = 0, .top_p = 1.0, .seed = 0};
  bool json = false;
};

template <class B>
void run_sample(const llamagen_options& o) {
  B be;
  auto gpt = dpar::load_llamagen_import(be, o.gpt);
  const auto& mc = gpt->config();
  check(mc.conditional, "llamagen sample", o.gpt, " is an unconditional GPT (no class embedding): sampling draws ",
        "class-conditional images from a c2i model");
  auto vq = vq::load_llamagen_vq(be, o.vq);
  const std::int64_t codebook = vq->config().codebook_size;
  check(codebook == mc.vocab, "llamagen sample", o.vq, " has ", codebook, " codes but the GPT in ", o.gpt,
        " predicts ", mc.vocab, ": they are not a pair");
  const auto chosen = pipeline::parse_classes(o.class_list, mc.classes);
  auto g = pipeline::class_grid(chosen, o.per_class, mc.classes);
  g.scale = 1;  // 256 px images: large enough as they are
  const std::int64_t pixels_per_token = std::int64_t{1} << (vq->config().levels() - 1);  // each level but the last halves
  image::layout_grid(mc.tokens / mc.row_width * pixels_per_token, mc.row_width * pixels_per_token, g);  // before sampling
  const auto labels = pipeline::class_labels(chosen, o.per_class);
  progress bar("sample", mc.tokens, {.unit = "token"});
  const auto s = pipeline::sample_baseline(be, *gpt, labels, o.sampling, codebook, [&](std::int64_t step) { bar.update(step); });
  bar.finish();

  const auto n = static_cast<std::int64_t>(s.tokens.size());
  tensor<std::int32_t> codes(shape_t{n, s.grid_h, s.grid_w});
  for (std::int64_t i = 0; i < n; ++i)
    std::copy(s.tokens[static_cast<std::size_t>(i)].begin(), s.tokens[static_cast<std::size_t>(i)].end(),
              codes.data() + i * s.grid_h * s.grid_w);
  const auto images = vq->decode(be, codes);  // [n, 3, H, W] in [-1, 1]
  image::write_png(o.out, image::image_grid(images.cview(), g));

  report r;
  r["backend"] = std::string(B::name);
  r["gpt"] = o.gpt;
  r["vq"] = o.vq;
  r["images"] = n;
  r["grid"] = std::to_string(s.grid_h) + "x" + std::to_string(s.grid_w);
  r["image_size"] = std::to_string(images.dim(2)) + "x" + std::to_string(images.dim(3));
  r["cfg_scale"] = o.sampling.cfg_scale;
  r["temperature"] = o.sampling.temperature;
  r["top_k"] = o.sampling.top_k;
  r["top_p"] = o.sampling.top_p;
  r["seed"] = o.sampling.seed;
  r["seconds"] = s.seconds;
  r["images_per_second"] = static_cast<double>(n) / s.seconds;
  r["out"] = o.out;
  if (!o.tokens_out.empty()) {
    data::write_token_file(o.tokens_out, pipeline::samples_token_file(s, codebook));
    r["tokens_file"] = o.tokens_out;
  }
  r.emit(o.json);
}

}  // namespace

void register_llamagen(CLI::App& app) {
  auto o = std::make_shared<llamagen_options>();
  auto* cmd = app.add_subcommand("llamagen", "LlamaGen's converted checkpoints (scripts/convert-llamagen)");
  cmd->require_subcommand(1);
  auto* sample = cmd->add_subcommand("sample", "Class-conditional RGB samples of a c2i GPT decoded by its VQ-16");
  add_backend_option(sample, o->backend);
  sample->add_option("--gpt", o->gpt, "converted c2i GPT (convert-llamagen --kind gpt)")->required()->check(CLI::ExistingFile);
  sample->add_option("--vq", o->vq, "converted VQ tokenizer (convert-llamagen --kind vq)")->required()->check(CLI::ExistingFile);
  sample->add_option("--classes", o->class_list, "classes, e.g. 207,360,387 or 0-9");
  sample->add_option("--per-class", o->per_class, "samples per class (one grid row per class)")->check(CLI::PositiveNumber);
  add_sampling_filters(sample, o->sampling);
  sample->add_option("--seed", o->sampling.seed, "sampling seed");
  sample->add_option("--tokens-out", o->tokens_out, "also write the sampled tokens as a token file")
      ->check(file_in_existing_directory);
  sample->add_option("--out", o->out, "output PNG")->required()->check(file_in_existing_directory);
  sample->add_flag("--json", o->json, "print one JSON object on stdout");
  sample->callback([o] { with_cpu_backend(o->backend, [&]<class B>() { run_sample<B>(*o); }); });
}
