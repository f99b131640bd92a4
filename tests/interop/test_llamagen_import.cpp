// LlamaGen's GPT, proven equal to PyTorch: a PyTorch module with LlamaGen's architecture (written here from
// autoregressive/models/gpt.py's facts: names, fused wqkv, SwiGLU, RMSNorm 1e-5, 2-D RoPE with a zero class
// row) gets random weights, is saved as LlamaGen saves ({"model": state_dict}), converted by
// scripts/convert-llamagen and loaded by load_llamagen_import; our teacher-forced logits must equal
// PyTorch's. Also: corrupted checkpoints refused by the converter and by the loader, with the tensor's name.
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
#include "patchzoo/dpar/llamagen_import.hpp"
#include "patchzoo/io/safetensors.hpp"
#include "interop/interop_support.hpp"
#include "interop/gpt_reference.hpp"
#include "support/temp_dir.hpp"
#include "support/tolerances.hpp"

using namespace patchzoo;
using namespace patchzoo::test;

namespace {

struct logit_diff {
  double max_abs = 0, max_rel = 0;  // rel: |d| / max(|want|, 1)
  bool within = true;
};

logit_diff compare(const tensor<float>& got, const tensor<double>& want, double abs_tol, double rel_tol) {
  logit_diff d;
  REQUIRE(got.numel() == want.numel());
  for (std::int64_t i = 0; i < got.numel(); ++i) {
    const double e = std::abs(static_cast<double>(got[i]) - want[i]);
    d.max_abs = std::max(d.max_abs, e);
    d.max_rel = std::max(d.max_rel, e / std::max(std::abs(want[i]), 1.0));
    if (!(e <= abs_tol + rel_tol * std::abs(want[i]))) d.within = false;
  }
  return d;
}

// docs/numerics.md, "llamagen_import": our float32 logits against PyTorch's (float32 and float64).
const test::tolerance logits_tol = test::f32_tolerance("llamagen_import");

template <class B>
void check_against_pytorch(const gpt_shape& g, const std::string& convert_extra = "") {
  using clock = std::chrono::steady_clock;
  temp_dir dir("llamagen_import");
  const auto t0 = clock::now();
  write_gpt_reference(dir, g, "good");
  const auto t1 = clock::now();
  REQUIRE_MESSAGE(run(gpt_convert_command(dir, g, convert_extra), dir / "convert.log") == 0,
                  read_file_bytes(dir / "convert.log"));
  const auto t2 = clock::now();
  B be;
  const auto model = dpar::load_llamagen_import(be, dir / "model.safetensors");
  const auto& c = model->config();
  CHECK(c.vocab == g.vocab);
  CHECK(c.layers == g.layers);
  CHECK(c.block.dim == g.dim);
  CHECK(c.block.heads == g.heads);
  CHECK(c.tokens == g.tokens);
  CHECK(c.conditional == g.conditional);
  if (g.conditional) CHECK(c.classes == g.classes);

  const safetensors_reader ref(dir / "reference.safetensors");
  dpar::token_grid_batch batch;
  batch.tokens_per_image = g.tokens;
  batch.row_width = c.row_width;
  batch.tokens = ref.load<std::int32_t>("tokens").to_vector();
  if (g.conditional) batch.labels = ref.load<std::int32_t>("labels").to_vector();
  const auto t3 = clock::now();
  model->forward(be, batch);
  const tensor<float> ours = model->logits(be);
  const auto t4 = clock::now();
  const auto want32 = ref.load<float>("logits32");
  tensor<double> want32d(want32.shape());
  for (std::int64_t i = 0; i < want32.numel(); ++i) want32d[i] = want32[i];
  const auto want64 = ref.load<double>("logits64");
  REQUIRE(ours.numel() == want64.numel());
  const logit_diff d32 = compare(ours, want32d, logits_tol.abs, logits_tol.rel);
  const logit_diff d64 = compare(ours, want64, logits_tol.abs, logits_tol.rel);
  tensor<float> torch32 = want32.clone();
  const logit_diff torch_self = compare(torch32, want64, logits_tol.abs, logits_tol.rel);
  double rms = 0;
  for (std::int64_t i = 0; i < want64.numel(); ++i) rms += want64[i] * want64[i];
  rms = std::sqrt(rms / static_cast<double>(want64.numel()));
  const auto secs = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
  MESSAGE("llamagen_import ", B::name, " dim ", g.dim, " layers ", g.layers, " heads ", g.heads, " vocab ", g.vocab,
          " tokens ", g.tokens, " batch ", g.batch, std::string(g.conditional ? " conditional" : " unconditional"),
          ": logits rms ", rms, "; max |ours - torch f32| ", d32.max_abs, " (rel ", d32.max_rel,
          "), max |ours - torch f64| ", d64.max_abs, " (rel ", d64.max_rel, "), max |torch f32 - torch f64| ",
          torch_self.max_abs, "; seconds: pytorch ", secs(t0, t1), ", convert ", secs(t1, t2), ", load ",
          secs(t2, t3), ", forward ", secs(t3, t4));
  CHECK(rms > 0.5);  // the logits carry signal
  CHECK(d32.within);
  CHECK(d64.within);
}

}  // namespace

TEST_CASE("llamagen import: a small GPT equals PyTorch (eigen and xtensor, batch of 2 with the null class)") {
  if (!torch_available()) {
    MESSAGE("skipped: /usr/bin/python3 cannot import torch");
    return;
  }
  const gpt_shape small{.dim = 64, .layers = 2, .heads = 4, .vocab = 64, .classes = 10, .tokens = 16, .batch = 2};
  check_against_pytorch<eigen_backend>(small);
  check_against_pytorch<xtensor_backend>(small);
  check_against_pytorch<eigen_backend>({.dim = 96, .layers = 3, .heads = 6, .vocab = 50, .classes = 7, .tokens = 36,
                                        .batch = 3});
}

TEST_CASE("llamagen import: the unconditional variant (no class embedding) equals PyTorch") {
  if (!torch_available()) {
    MESSAGE("skipped: /usr/bin/python3 cannot import torch");
    return;
  }
  check_against_pytorch<eigen_backend>(
      {.dim = 64, .layers = 2, .heads = 4, .vocab = 64, .classes = 0, .tokens = 16, .batch = 2, .conditional = false});
}

TEST_CASE("llamagen import: GPT-B (dim 768, 12 layers, 12 heads, vocab 16384, 256 tokens) equals PyTorch") {
  if (!torch_available()) {
    MESSAGE("skipped: /usr/bin/python3 cannot import torch");
    return;
  }
  check_against_pytorch<eigen_backend>(
      {.dim = 768, .layers = 12, .heads = 12, .vocab = 16384, .classes = 1000, .tokens = 256, .batch = 1},
      " --config GPT-B --classes 1000");
}

TEST_CASE("llamagen import: the converter refuses a missing, mis-shaped or unknown tensor by name and writes nothing") {
  if (!torch_available()) {
    MESSAGE("skipped: /usr/bin/python3 cannot import torch");
    return;
  }
  const gpt_shape small{.dim = 64, .layers = 2, .heads = 4, .vocab = 64, .classes = 10, .tokens = 16, .batch = 2};
  const auto refused = [&](const std::string& mode, const std::string& extra, const std::string& expected) {
    CAPTURE(mode);
    CAPTURE(extra);
    temp_dir dir("llamagen_refuse");
    write_gpt_reference(dir, small, mode);
    const int status = run(gpt_convert_command(dir, small, extra), dir / "convert.log");
    const std::string log = read_file_bytes(dir / "convert.log");
    CAPTURE(log);
    CHECK(status == 2);
    CHECK(log.find(expected) != std::string::npos);
    CHECK(log.find("nothing written") != std::string::npos);
    std::vector<std::string> files;
    for (const auto& e : std::filesystem::directory_iterator(dir.path)) files.push_back(e.path().filename().string());
    std::sort(files.begin(), files.end());
    std::vector<std::string> expected_files{"convert.log", "model.pt", "reference.log", "reference.py"};
    if (mode == "good") expected_files.push_back("reference.safetensors");
    CHECK(files == expected_files);  // no output, no temporary left beside it
  };
  refused("missing", "", "missing tensor 'layers.1.feed_forward.w3.weight' (expected [256, 64])");
  refused("shape", "", "tensor 'layers.0.attention.wo.weight': shape mismatch: expected [64, 64], found [64, 65]");
  refused("extra", "", "unknown tensor 'layers.0.attention.wqkv.bias' of shape [192]");
  refused("good", " --classes 1000", "tensor 'cls_embedding.embedding_table.weight': shape mismatch: expected [1001, 64], found [11, 64]");
  refused("good", " --unconditional", "unknown tensor 'cls_embedding.embedding_table.weight'");
  refused("good", " --config GPT-B", "tensor 'tok_embeddings.weight': GPT-B has dim 768, found [64, 64]");
}

TEST_CASE("llamagen import: the loader refuses a missing, mis-shaped or unknown tensor and a foreign file by name") {
  if (!torch_available()) {
    MESSAGE("skipped: /usr/bin/python3 cannot import torch");
    return;
  }
  const gpt_shape small{.dim = 64, .layers = 2, .heads = 4, .vocab = 64, .classes = 10, .tokens = 16, .batch = 2};
  temp_dir dir("llamagen_loader");
  write_gpt_reference(dir, small, "good");
  REQUIRE_MESSAGE(run(gpt_convert_command(dir, small), dir / "convert.log") == 0, read_file_bytes(dir / "convert.log"));
  const safetensors_reader good(dir / "model.safetensors");
  CHECK(good.metadata().at("source.state_dict") == "model");

  // A copy of the converted file with one change (interop_support.hpp).
  const auto variant = [&](const std::string& name, const std::string& skip, const std::string& reshape,
                           const std::string& extra, bool keep_format = true) {
    return write_changed_copy(good, dir / name, {skip, reshape, extra, 192, !keep_format});
  };
  eigen_backend be;
  CHECK_THROWS_WITH_AS(dpar::load_llamagen_import(be, variant("missing.safetensors", "blocks.1.ffn.w3", "", "")),
                       doctest::Contains("missing tensor 'blocks.1.ffn.w3' (expected F32 [256, 64])"), patchzoo::error);
  CHECK_THROWS_WITH_AS(dpar::load_llamagen_import(be, variant("shape.safetensors", "", "blocks.0.attn.wo", "")),
                       doctest::Contains("tensor 'blocks.0.attn.wo': shape mismatch: expected [64, 64] (destination), "
                                         "found [64, 65] (file)"),
                       patchzoo::error);
  CHECK_THROWS_WITH_AS(dpar::load_llamagen_import(be, variant("extra.safetensors", "", "", "blocks.0.attn.bias")),
                       doctest::Contains("unknown tensor 'blocks.0.attn.bias' of shape [192]"), patchzoo::error);
  CHECK_THROWS_WITH_AS(dpar::load_llamagen_import(be, variant("foreign.safetensors", "", "", "", false)),
                       doctest::Contains("not a converted LlamaGen checkpoint (metadata 'format' is missing"),
                       patchzoo::error);
  CHECK_NOTHROW(dpar::load_llamagen_import(be, variant("copy.safetensors", "", "", "")));
}
