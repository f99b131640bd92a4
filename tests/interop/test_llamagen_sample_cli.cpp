// `patchzoo llamagen sample` end to end: a small c2i GPT and VQ tokenizer of LlamaGen's architecture (random
// weights, PyTorch), converted by scripts/convert-llamagen, sampled by the CLI; its tokens must be the ones
// the library draws with the same settings, its grid a PNG, and a class outside the model or a tokenizer that is not the GPT's pair a clear refusal.
// Skipped without PyTorch or without the CLI in this build.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "interop/gpt_reference.hpp"
#include "interop/vq_reference.hpp"
#include "patchzoo/backend/eigen/eigen_backend.hpp"
#include "patchzoo/data/token_file.hpp"
#include "patchzoo/dpar/llamagen_import.hpp"
#include "patchzoo/pipeline/sample_step.hpp"

using namespace patchzoo;
using namespace patchzoo::test;

TEST_CASE("llamagen sample: the CLI draws the library's tokens from converted LlamaGen checkpoints") {
#ifndef PATCHZOO_CLI
  MESSAGE("skipped: this build has no patchzoo program (PATCHZOO_BUILD_EXAMPLES=OFF)");
#else
  if (!torch_available()) {
    MESSAGE("skipped: /usr/bin/python3 cannot import torch");
    return;
  }
  const temp_dir dir("llamagen_sample_cli");
  const gpt_shape gpt{.dim = 64, .layers = 2, .heads = 4, .vocab = 64, .classes = 10, .tokens = 64, .batch = 2};
  write_gpt_reference(dir, gpt, "good");
  REQUIRE_MESSAGE(run(gpt_convert_command(dir, gpt), dir / "convert_gpt.log") == 0, read_file_bytes(dir / "convert_gpt.log"));
  const vq_shape vq{.ch = 32, .ch_mult = "1,2", .num_res = 1, .z_channels = 64, .codes = 64, .code_dim = 8,
                    .batch = 1, .side = 16};  // 16 px, downsampling 2: the GPT's 8 x 8 grid
  write_vq_reference(dir, vq, "good", false);
  REQUIRE_MESSAGE(run(vq_convert_command(dir), dir / "convert_vq.log") == 0, read_file_bytes(dir / "convert_vq.log"));

  const std::string cli = std::string(PATCHZOO_CLI) + " llamagen sample --gpt " + quoted(dir / "model.safetensors") +
                          " --vq " + quoted(dir / "vq.safetensors") + " --out " + quoted(dir / "grid.png");
  const std::string settings = " --classes 1,3 --per-class 2 --cfg-scale 4 --top-k 20 --top-p 0.9 --seed 7";
  REQUIRE_MESSAGE(run(cli + settings + " --tokens-out " + quoted(dir / "samples.pztok") + " --json", dir / "cli.log") == 0,
                  read_file_bytes(dir / "cli.log"));
  const std::string log = read_file_bytes(dir / "cli.log");
  CHECK(log.find("\"images\":4") != std::string::npos);
  CHECK(log.find("\"image_size\":\"16x16\"") != std::string::npos);
  CHECK(read_file_bytes(dir / "grid.png").starts_with("\x89PNG"));

  eigen_backend be;
  auto model = dpar::load_llamagen_import(be, dir / "model.safetensors");
  const auto want = pipeline::sample_baseline(be, *model, {1, 1, 3, 3},
                                              {.cfg_scale = 4, .temperature = 1, .top_k = 20, .top_p = 0.9, .seed = 7}, 64);
  const auto got = data::read_token_file(dir / "samples.pztok");
  REQUIRE(got.count() == 4);
  for (std::int64_t i = 0; i < 4; ++i) {
    INFO("image " << i);
    CHECK(std::vector<std::int32_t>(got.image(i), got.image(i) + 64) == want.tokens[static_cast<std::size_t>(i)]);
  }
  CHECK(got.labels == std::vector<std::uint16_t>{1, 1, 3, 3});

  CHECK(run(cli + " --classes 10", dir / "refused.log") != 0);
  CHECK(read_file_bytes(dir / "refused.log").find("--classes part '10' is not a class or range of classes in [0, 10)") !=
        std::string::npos);

  // A tokenizer whose codebook is not the GPT's vocabulary is not its pair.
  const temp_dir other("llamagen_sample_cli_other_vq");
  vq_shape smaller = vq;
  smaller.codes = 32;
  write_vq_reference(other, smaller, "good", false);
  REQUIRE_MESSAGE(run(vq_convert_command(other), other / "convert.log") == 0, read_file_bytes(other / "convert.log"));
  const std::string mismatched = std::string(PATCHZOO_CLI) + " llamagen sample --gpt " + quoted(dir / "model.safetensors") +
                                 " --vq " + quoted(other / "vq.safetensors") + " --out " + quoted(other / "grid.png");
  CHECK(run(mismatched, other / "refused.log") != 0);
  CHECK(read_file_bytes(other / "refused.log").find("has 32 codes but the GPT in") != std::string::npos);
#endif
}
