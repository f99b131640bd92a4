// The ImageNet path of the CLI end to end, on small models of LlamaGen's architecture (random weights, PyTorch,
// converted by scripts/convert-llamagen): `tokenizer encode --vq --image-dir` turns a folder of photographs into
// a token file equal to the library's encoding of the same images, `tokenizer decode --vq` draws them,
// `entropy compute --model` scores them with a converted GPT (c2i through its null class, and unconditional)
// equal to the library's entropies, and `entropy threshold` patches them. Skipped without PyTorch or the CLI.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "interop/gpt_reference.hpp"
#include "interop/vq_reference.hpp"
#include "patchzoo/backend/eigen/eigen_backend.hpp"
#include "patchzoo/data/image_folder.hpp"
#include "patchzoo/data/token_file.hpp"
#include "patchzoo/dpar/entropy_file.hpp"
#include "patchzoo/dpar/llamagen_import.hpp"
#include "patchzoo/image/png.hpp"
#include "patchzoo/pipeline/entropy_step.hpp"
#include "patchzoo/vq/vq16_import.hpp"

using namespace patchzoo;
using namespace patchzoo::test;

namespace {

// A w x h RGB picture whose content depends on `seed`: gradients and a checker, so codes differ per image.
void write_picture(const std::filesystem::path& path, std::int64_t w, std::int64_t h, int seed) {
  image::rgb_image img(w, h);
  for (std::int64_t y = 0; y < h; ++y)
    for (std::int64_t x = 0; x < w; ++x)
      img.set(x, y, {static_cast<std::uint8_t>((x * 7 + seed * 40) % 256), static_cast<std::uint8_t>((y * 11 + seed * 90) % 256),
                     static_cast<std::uint8_t>(((x / 5 + y / 3 + seed) % 2) * 200 + 20)});
  std::filesystem::create_directories(path.parent_path());
  image::write_png(path, img);
}

}  // namespace

TEST_CASE("llamagen tokenize: folder -> VQ tokens -> GPT entropies -> patches through the CLI") {
#ifndef PATCHZOO_CLI
  MESSAGE("skipped: this build has no patchzoo program (PATCHZOO_BUILD_EXAMPLES=OFF)");
#else
  if (!torch_available()) {
    MESSAGE("skipped: /usr/bin/python3 cannot import torch");
    return;
  }
  const temp_dir dir("llamagen_tokenize_cli");
  const vq_shape vq{.ch = 32, .ch_mult = "1,2", .num_res = 1, .z_channels = 64, .codes = 64, .code_dim = 8,
                    .batch = 1, .side = 16};  // 16 px images, downsampling 2: 8 x 8 codes
  write_vq_reference(dir, vq, "good", false);
  REQUIRE_MESSAGE(run(vq_convert_command(dir), dir / "convert_vq.log") == 0, read_file_bytes(dir / "convert_vq.log"));

  const auto images = dir / "images";
  write_picture(images / "n01" / "a.png", 40, 30, 0);
  write_picture(images / "n01" / "b.png", 16, 16, 1);
  write_picture(images / "n02" / "c.png", 23, 57, 2);
  write_picture(images / "n02" / "d.png", 64, 48, 3);
  write_picture(images / "n02" / "e.png", 33, 33, 4);
  const std::string cli = std::string(PATCHZOO_CLI);
  const std::string tokens = quoted(dir / "t.pztok");
  REQUIRE_MESSAGE(run(cli + " tokenizer encode --vq " + quoted(dir / "vq.safetensors") + " --image-dir " +
                          quoted(images) + " --size 16 --batch 2 --tokens " + tokens + " --json",
                      dir / "encode.log") == 0,
                  read_file_bytes(dir / "encode.log"));
  const std::string encode_log = read_file_bytes(dir / "encode.log");
  CHECK(encode_log.find("\"images\":5") != std::string::npos);
  CHECK(encode_log.find("\"grid\":\"8x8\"") != std::string::npos);
  CHECK(read_file_bytes(dir / "t.pztok.classes.txt") == "n01\nn02\n");

  eigen_backend be;
  auto model = vq::load_llamagen_vq(be, dir / "vq.safetensors");
  const auto folder = data::list_image_folder(images);
  const auto want = model->encode(be, data::load_image_batch(folder, 0, 5, 16));
  const auto got = data::read_token_file(dir / "t.pztok");
  REQUIRE(got.count() == 5);
  CHECK(got.grid_h == 8);
  CHECK(got.codebook_size == 64);
  CHECK(std::vector<std::int32_t>(got.tokens.begin(), got.tokens.end()) ==
        std::vector<std::int32_t>(want.data(), want.data() + want.numel()));
  CHECK(got.labels == std::vector<std::uint16_t>{0, 0, 1, 1, 1});

  REQUIRE_MESSAGE(run(cli + " tokenizer decode --vq " + quoted(dir / "vq.safetensors") + " --tokens " + tokens +
                          " --png " + quoted(dir / "decoded.png") + " --json",
                      dir / "decode.log") == 0,
                  read_file_bytes(dir / "decode.log"));
  CHECK(read_file_bytes(dir / "decode.log").find("\"images\":5") != std::string::npos);
  CHECK(read_file_bytes(dir / "decoded.png").starts_with("\x89PNG"));

  // Entropies from a converted c2i GPT (through its null class) and from an unconditional one.
  for (const bool conditional : {true, false}) {
    INFO("conditional " << conditional);
    const temp_dir gdir(conditional ? "llamagen_tokenize_c2i" : "llamagen_tokenize_uncond");
    const gpt_shape gpt{.dim = 64, .layers = 2, .heads = 4, .vocab = 64, .classes = conditional ? 10 : 0,
                        .tokens = 64, .batch = 2, .conditional = conditional};
    write_gpt_reference(gdir, gpt, "good");
    REQUIRE_MESSAGE(run(gpt_convert_command(gdir, gpt), gdir / "convert.log") == 0, read_file_bytes(gdir / "convert.log"));
    const auto entropies = gdir / "e.pzent";
    REQUIRE_MESSAGE(run(cli + " entropy compute --tokens " + tokens + " --model " + quoted(gdir / "model.safetensors") +
                            " --out " + quoted(entropies) + " --batch 3 --json",
                        gdir / "compute.log") == 0,
                    read_file_bytes(gdir / "compute.log"));
    auto gpt_model = dpar::load_llamagen_import(be, gdir / "model.safetensors");
    const auto pass = pipeline::compute_entropies(be, *gpt_model, got, 5);
    const auto e = dpar::read_entropy_file(entropies);
    REQUIRE(e.values.size() == pass.entropies.values.size());
    for (std::size_t i = 0; i < e.values.size(); ++i) CHECK(e.values[i] == doctest::Approx(pass.entropies.values[i]).epsilon(1e-5));
    // x_0 is predicted only with a class slot in front.
    CHECK((e.values[0] > 0.0f) == conditional);
    CHECK(e.values[1] > 0.0f);

    REQUIRE_MESSAGE(run(cli + " entropy threshold --entropy " + quoted(entropies) +
                            " --target-mean-length 1.5 --max-patch 4 --json",
                        gdir / "threshold.log") == 0,
                    read_file_bytes(gdir / "threshold.log"));
    const auto t = pipeline::threshold_for_mean_length(e, 1.5, 4, dpar::patching_mode::entropy_row_boundary);
    CHECK(read_file_bytes(gdir / "threshold.log").find("\"mean_patch_length\":") != std::string::npos);
    CHECK(t.mean_length == doctest::Approx(1.5).epsilon(0.1));
  }

  // Refusals: --image-dir without --vq, a size the tokenizer cannot downsample, an empty folder.
  CHECK(run(cli + " tokenizer encode --image-dir " + quoted(images) + " --tokens " + tokens, dir / "r1.log") != 0);
  CHECK(read_file_bytes(dir / "r1.log").find("--image-dir needs --vq") != std::string::npos);
  CHECK(run(cli + " tokenizer encode --vq " + quoted(dir / "vq.safetensors") + " --image-dir " + quoted(images) +
                " --size 15 --tokens " + tokens, dir / "r2.log") != 0);
  CHECK(read_file_bytes(dir / "r2.log").find("--size 15 is not a multiple of the tokenizer's downsampling 2") !=
        std::string::npos);
  std::filesystem::create_directories(dir / "empty");
  CHECK(run(cli + " tokenizer encode --vq " + quoted(dir / "vq.safetensors") + " --image-dir " + quoted(dir / "empty") +
                " --tokens " + tokens, dir / "r3.log") != 0);
  CHECK(read_file_bytes(dir / "r3.log").find("holds no JPEG or PNG images") != std::string::npos);
#endif
}
