// LlamaGen's VQ tokenizer, proven equal to PyTorch: a PyTorch module with the architecture of LlamaGen's
// tokenizer/tokenizer_image/vq_model.py (written here from its facts: names, ResnetBlock / AttnBlock /
// Downsample / Upsample, GroupNorm(32, eps 1e-6), l2-normalised codebook) gets random weights, is saved as
// LlamaGen saves ({"model": state_dict}), converted by scripts/convert-llamagen --kind vq and loaded by
// load_llamagen_vq; decoding given codes and encoding given images must equal PyTorch. Also: corrupted
// checkpoints refused by the converter and by the loader, with the tensor's name.
// Skipped (a message, not a failure) when /usr/bin/python3 cannot import torch.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "patchzoo/backend/eigen/eigen_backend.hpp"
#include "patchzoo/backend/xtensor/xtensor_backend.hpp"
#include "patchzoo/io/safetensors.hpp"
#include "patchzoo/vq/vq16_import.hpp"
#include "interop/interop_support.hpp"
#include "interop/vq_reference.hpp"
#include "support/temp_dir.hpp"
#include "support/tolerances.hpp"

using namespace patchzoo;
using namespace patchzoo::test;

namespace {

struct diff {
  double max_abs = 0, rms_want = 0;
  bool within = true;
};

template <class W>
diff compare(const tensor<float>& got, const tensor<W>& want, test::tolerance tol) {
  diff d;
  REQUIRE(got.numel() == want.numel());
  for (std::int64_t i = 0; i < got.numel(); ++i) {
    const double w = static_cast<double>(want[i]), e = std::abs(static_cast<double>(got[i]) - w);
    d.max_abs = std::max(d.max_abs, e);
    d.rms_want += w * w;
    if (!(e <= tol.abs + tol.rel * std::abs(w))) d.within = false;
  }
  d.rms_want = std::sqrt(d.rms_want / static_cast<double>(want.numel()));
  return d;
}

// docs/numerics.md, "llamagen_vq": our float32 images / latents against PyTorch's (float32 and float64).
const test::tolerance vq_tol = test::f32_tolerance("llamagen_vq");
// A code may differ from PyTorch's only where its best two cosines are closer than this (float64).
constexpr double code_tie_gap = 1e-4;

template <class B>
void check_against_pytorch(const vq_shape& g, bool encode_too, const std::string& convert_extra = "") {
  using clock = std::chrono::steady_clock;
  const auto secs = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
  temp_dir dir("llamagen_vq");
  const auto t0 = clock::now();
  write_vq_reference(dir, g, "good", encode_too);
  const auto t1 = clock::now();
  REQUIRE_MESSAGE(run(vq_convert_command(dir, convert_extra), dir / "convert.log") == 0,
                  read_file_bytes(dir / "convert.log"));
  const auto t2 = clock::now();
  B be;
  const auto model = vq::load_llamagen_vq(be, dir / "vq.safetensors");
  const auto& c = model->config();
  CHECK(c.ch == g.ch);
  CHECK(c.num_res_blocks == g.num_res);
  CHECK(c.z_channels == g.z_channels);
  CHECK(c.codebook_size == g.codes);
  CHECK(c.codebook_dim == g.code_dim);

  const safetensors_reader ref(dir / "reference.safetensors");
  const auto t3 = clock::now();
  const tensor<float> decoded = model->decode(be, ref.load<std::int32_t>("codes"));
  const auto t4 = clock::now();
  CHECK(decoded.shape() == ref.load<float>("decoded32").shape());
  const diff d32 = compare(decoded, ref.load<float>("decoded32"), vq_tol);
  const diff d64 = compare(decoded, ref.load<double>("decoded64"), vq_tol);
  const diff t64 = compare(ref.load<float>("decoded32"), ref.load<double>("decoded64"), vq_tol);
  MESSAGE("llamagen_vq ", B::name, " ch ", g.ch, " ch_mult (", g.ch_mult, ") res ", g.num_res, " z ", g.z_channels,
          " codebook ", g.codes, " x ", g.code_dim, " batch ", g.batch, " codes ", g.side / c.downsample(), "^2: decode rms ",
          d64.rms_want, "; max |ours - torch f32| ", d32.max_abs, ", max |ours - torch f64| ", d64.max_abs,
          ", max |torch f32 - torch f64| ", t64.max_abs, "; seconds: pytorch ", secs(t0, t1), ", convert ",
          secs(t1, t2), ", load ", secs(t2, t3), ", decode ", secs(t3, t4));
  CHECK(d64.rms_want > 0.1);  // the images carry signal
  CHECK(d32.within);
  CHECK(d64.within);
  if (!encode_too) return;

  const tensor<float> images = ref.load<float>("images");
  const auto t5 = clock::now();
  tensor<float> latents;
  const tensor<std::int32_t> codes = model->encode(be, images, &latents);
  const auto t6 = clock::now();
  const diff l32 = compare(latents, ref.load<float>("latents32"), vq_tol);
  const diff l64 = compare(latents, ref.load<double>("latents64"), vq_tol);
  const diff lt = compare(ref.load<float>("latents32"), ref.load<double>("latents64"), vq_tol);
  const auto codes64 = ref.load<std::int32_t>("codes64");
  const auto codes32 = ref.load<std::int32_t>("codes32");
  const auto gap = ref.load<double>("gap64");
  REQUIRE(codes.numel() == codes64.numel());
  std::int64_t differ = 0, torch_differ = 0, untied = 0;
  double min_gap = 1;
  for (std::int64_t i = 0; i < codes.numel(); ++i) {
    min_gap = std::min(min_gap, gap[i]);
    if (codes32[i] != codes64[i]) ++torch_differ;
    if (codes[i] == codes64[i]) continue;
    ++differ;
    if (gap[i] >= code_tie_gap) ++untied;
  }
  MESSAGE("llamagen_vq ", B::name, " encode: latents rms ", l64.rms_want, "; max |ours - torch f32| ", l32.max_abs,
          ", max |ours - torch f64| ", l64.max_abs, ", max |torch f32 - torch f64| ", lt.max_abs, "; codes differing from torch f64: ",
          differ, " of ", codes.numel(), " (torch f32: ", torch_differ, "), smallest top-2 cosine gap ", min_gap,
          "; seconds: encode ", secs(t5, t6));
  CHECK(l64.rms_want > 0.1);
  CHECK(l32.within);
  CHECK(l64.within);
  CHECK(untied == 0);  // a differing code only at a near-tie of the two best cosines
}

const vq_shape small{.ch = 32, .ch_mult = "1,2", .num_res = 1, .z_channels = 64, .codes = 64, .code_dim = 8,
                     .batch = 2, .side = 16};

}  // namespace

TEST_CASE("llamagen vq: a small tokenizer decodes and encodes as PyTorch (eigen and xtensor)") {
  if (!torch_available()) {
    MESSAGE("skipped: /usr/bin/python3 cannot import torch");
    return;
  }
  check_against_pytorch<eigen_backend>(small, true);
  check_against_pytorch<xtensor_backend>(small, true);
  check_against_pytorch<eigen_backend>(
      {.ch = 32, .ch_mult = "1,1,2", .num_res = 2, .z_channels = 32, .codes = 512, .code_dim = 8, .batch = 1, .side = 32},
      true);
}

const vq_shape vq16{.ch = 128, .ch_mult = "1,1,2,2,4", .num_res = 2, .z_channels = 256, .codes = 16384,
                    .code_dim = 8, .batch = 1, .side = 256};

// Decode only in the default run (PyTorch's float32 + float64 passes dominate the time).
TEST_CASE("llamagen vq: VQ-16 at full size (ch 128, ch_mult 1,1,2,2,4, 16384 x 8 codes, 256 px) decodes as PyTorch") {
  if (!torch_available()) {
    MESSAGE("skipped: /usr/bin/python3 cannot import torch");
    return;
  }
  check_against_pytorch<eigen_backend>(vq16, false, " --config VQ-16");
}

// Decode and encode at full size: 67 - 88 s on 2 shared cores, so only with --no-skip (docs/interop.md).
TEST_CASE("llamagen vq: VQ-16 at full size encodes and decodes as PyTorch (slow)" * doctest::skip()) {
  if (!torch_available()) {
    MESSAGE("skipped: /usr/bin/python3 cannot import torch");
    return;
  }
  check_against_pytorch<eigen_backend>(vq16, true, " --config VQ-16");
}

TEST_CASE("llamagen vq: the converter refuses a missing, mis-shaped or unknown tensor by name and writes nothing") {
  if (!torch_available()) {
    MESSAGE("skipped: /usr/bin/python3 cannot import torch");
    return;
  }
  const auto refused = [&](const std::string& mode, const std::string& extra, const std::string& expected) {
    CAPTURE(mode);
    CAPTURE(extra);
    temp_dir dir("llamagen_vq_refuse");
    write_vq_reference(dir, small, mode);
    const int status = run(vq_convert_command(dir, extra), dir / "convert.log");
    const std::string log = read_file_bytes(dir / "convert.log");
    CAPTURE(log);
    CHECK(status == 2);
    CHECK(log.find(expected) != std::string::npos);
    CHECK(log.find("nothing written") != std::string::npos);
    std::vector<std::string> files;
    for (const auto& e : std::filesystem::directory_iterator(dir.path)) files.push_back(e.path().filename().string());
    std::sort(files.begin(), files.end());
    std::vector<std::string> expected_files{"convert.log", "reference.log", "reference.py"};
    if (mode == "good") expected_files.push_back("reference.safetensors");
    expected_files.push_back("vq.pt");
    CHECK(files == expected_files);  // no output, no temporary left beside it
  };
  refused("missing", "", "missing tensor 'decoder.conv_blocks.0.attn.1.k.weight' (expected [64, 64, 1, 1])");
  refused("shape", "",
          "tensor 'encoder.conv_blocks.0.downsample.conv.weight': shape mismatch: expected [32, 32, 3, 3], found [32, 32, 3, 4]");
  refused("extra", "", "unknown tensor 'encoder.conv_blocks.0.attn.0.q.weight' of shape [32, 32, 1, 1]");
  refused("good", " --config VQ-16", "VQ-16 has ch 128, the state dict has 32");
  refused("good", " --heads 4", "--heads: not options of --kind vq");
}

TEST_CASE("llamagen vq: the loader refuses a missing, mis-shaped or unknown tensor and a foreign file by name") {
  if (!torch_available()) {
    MESSAGE("skipped: /usr/bin/python3 cannot import torch");
    return;
  }
  temp_dir dir("llamagen_vq_loader");
  write_vq_reference(dir, small, "good");
  REQUIRE_MESSAGE(run(vq_convert_command(dir), dir / "convert.log") == 0, read_file_bytes(dir / "convert.log"));
  const safetensors_reader good(dir / "vq.safetensors");
  CHECK(good.metadata().at("source.state_dict") == "model");
  CHECK(!good.contains("quantize.codebook_used"));

  // A copy of the converted file with one change (interop_support.hpp).
  const auto variant = [&](const std::string& name, const std::string& skip, const std::string& reshape,
                           const std::string& extra, bool keep_format = true) {
    return write_changed_copy(good, dir / name, {skip, reshape, extra, 7, !keep_format});
  };
  eigen_backend be;
  CHECK_THROWS_WITH_AS(vq::load_llamagen_vq(be, variant("missing.safetensors", "decoder.mid.1.proj_out.bias", "", "")),
                       doctest::Contains("missing tensor 'decoder.mid.1.proj_out.bias' (expected F32 [64])"),
                       patchzoo::error);
  CHECK_THROWS_WITH_AS(vq::load_llamagen_vq(be, variant("shape.safetensors", "", "quantize.embedding.weight", "")),
                       doctest::Contains("tensor 'quantize.embedding.weight': shape mismatch: expected [64, 8] "
                                         "(destination), found [64, 65] (file)"),
                       patchzoo::error);
  CHECK_THROWS_WITH_AS(vq::load_llamagen_vq(be, variant("extra.safetensors", "", "", "encoder.mid.1.bias")),
                       doctest::Contains("unknown tensor 'encoder.mid.1.bias' of shape [7]"), patchzoo::error);
  CHECK_THROWS_WITH_AS(vq::load_llamagen_vq(be, variant("foreign.safetensors", "", "", "", false)),
                       doctest::Contains("not a converted LlamaGen VQ checkpoint (metadata 'format' is missing"),
                       patchzoo::error);
  CHECK_NOTHROW(vq::load_llamagen_vq(be, variant("copy.safetensors", "", "", "")));
}
