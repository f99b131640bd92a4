// Parameter and FLOP counter (arXiv 2512.21867, Table 8): the model-size table, the paper's
// Table 8 convention (XL-384 433.4 G vs 258.4 G) and the derived table, the attention-included variant the
// paper's figures rule out (463.9 / 269.5), and the full (causal, training) count against a brute-force sum.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>

#include "patchzoo/dpar/flops.hpp"

using namespace patchzoo;
using dpar::ar_shape;
using dpar::dpar_split;

namespace {

struct model_size {
  const char* name;
  std::int64_t dim, heads;
  int llamagen_layers;
  dpar_split split;
};

constexpr model_size B{"B", 768, 12, 12, {1, 8, 3}}, L{"L", 1024, 16, 24, {1, 19, 4}},
    XL{"XL", 1280, 20, 36, {1, 30, 5}}, XXL{"XXL", 1536, 24, 48, {1, 41, 6}}, XXXL{"XXXL", 2560, 40, 48, {1, 41, 6}};

ar_shape imagenet(const model_size& m, std::int64_t tokens) {
  return {m.dim, m.heads, dpar::round_up_256_ffn(m.dim), 16384, 1001, tokens};
}

double millions(std::int64_t n) { return static_cast<double>(n) / 1e6; }

}  // namespace

TEST_CASE("flops: FFN width round_up_256(int(8d/3)) for every size") {
  CHECK(dpar::round_up_256_ffn(768) == 2048);
  CHECK(dpar::round_up_256_ffn(1024) == 2816);
  CHECK(dpar::round_up_256_ffn(1280) == 3584);
  CHECK(dpar::round_up_256_ffn(1536) == 4096);
  CHECK(dpar::round_up_256_ffn(2560) == 6912);
  CHECK(dpar::round_up_256_ffn(96) == 256);
}

TEST_CASE("flops: parameter counts of the model sizes (LlamaGen-B 110.9M, DPAR-XL 789.5M, ...)") {
  CHECK(dpar::llamagen_parameters(imagenet(B, 256), 12) == 110888448);
  CHECK(dpar::dpar_parameters(imagenet(XL, 256), XL.split) == 789455360);
  struct row {
    model_size m;
    double llamagen_m, dpar_m;
  };
  for (const row& r : {row{B, 110.9, 115.0}, row{L, 342.9, 351.3}, row{XL, 774.7, 789.5}, row{XXL, 1411.0, 1434.6},
                       row{XXXL, 3893.0, 3958.6}}) {
    INFO(r.m.name);
    const ar_shape s = imagenet(r.m, 256);
    CHECK(std::abs(millions(dpar::llamagen_parameters(s, r.m.llamagen_layers)) - r.llamagen_m) < 0.05);
    CHECK(std::abs(millions(dpar::dpar_parameters(s, r.m.split)) - r.dpar_m) < 0.05);
    // Same total depth; the extra weights are only the local cross-attention, copy maps and start vector.
    const std::int64_t d = s.dim, extra = r.m.split.encoder * (4 * d * d + 2 * d) + r.m.split.decoder * (d * d + d) + d;
    CHECK(dpar::dpar_parameters(s, r.m.split) - dpar::llamagen_parameters(s, r.m.llamagen_layers) == extra);
  }
  // The resolution does not change the parameter count (no learned positions).
  CHECK(dpar::dpar_parameters(imagenet(B, 576), B.split) == dpar::dpar_parameters(imagenet(B, 256), B.split));
}

TEST_CASE("flops: the paper's Table 8 cell, XL-384: 433.4 G vs 258.4 G (-40.4%) with M = 576/2.06") {
  const ar_shape s = imagenet(XL, 576);
  const double m = 576.0 / 2.06;
  CHECK(m == doctest::Approx(279.6).epsilon(1e-3));
  const double llamagen = dpar::llamagen_paper_flops(s, 36) / 1e9, ours = dpar::dpar_paper_flops(s, XL.split, m) / 1e9;
  CHECK(std::abs(llamagen - 433.4) < 0.05);
  CHECK(std::abs(ours - 258.4) < 0.05);
  CHECK(std::abs(llamagen - 433.6) < 0.25);  // the paper's own numbers, within rounding of M
  CHECK(std::abs(ours - 258.5) < 0.15);
  CHECK(100.0 * (1.0 - ours / llamagen) == doctest::Approx(40.4).epsilon(0.002));
  // Including (non-causal) attention products gives 463.9 / 269.5, which the paper's figures rule out.
  const double d = static_cast<double>(s.dim), t = 576.0;
  const double llamagen_attn = llamagen + 36 * dpar::attention_macs(t, s.dim, false) / 1e9;
  const double dpar_attn =
      ours + (30 * dpar::attention_macs(1.0 + m, s.dim, false) + dpar::attention_macs(t - 1.0, s.dim, false) +
              5 * dpar::attention_macs(t, s.dim, false)) /
                 1e9;
  CHECK(std::abs(llamagen_attn - 463.9) < 0.05);
  CHECK(std::abs(dpar_attn - 269.5) < 0.05);
  CHECK(dpar::attention_macs(t, s.dim, false) == doctest::Approx(2.0 * d * t * t));
}

TEST_CASE("flops: the GFLOPs table derived from the configs (256: M = 256/1.81, 384: M = 576/2.06)") {
  struct cell {
    model_size m;
    std::int64_t tokens;
    double ratio, llamagen_g, dpar_g;
  };
  for (const cell& c :
       {cell{B, 256, 1.81, 25.0, 19.2}, cell{L, 256, 1.81, 83.2, 56.9}, cell{XL, 256, 1.81, 192.6, 125.8},
        cell{XXL, 256, 1.81, 354.3, 226.4}, cell{B, 576, 2.06, 56.2, 40.9}, cell{L, 576, 2.06, 187.2, 118.1},
        cell{XL, 576, 2.06, 433.4, 258.4}, cell{XXL, 576, 2.06, 797.3, 462.4}}) {
    INFO(c.m.name << " T " << c.tokens);
    const ar_shape s = imagenet(c.m, c.tokens);
    const double m = static_cast<double>(c.tokens) / c.ratio;
    CHECK(std::abs(dpar::llamagen_paper_flops(s, c.m.llamagen_layers) / 1e9 - c.llamagen_g) < 0.05 + 1e-9);
    CHECK(std::abs(dpar::dpar_paper_flops(s, c.m.split, m) / 1e9 - c.dpar_g) < 0.05 + 1e-9);
  }
  // Fewer patches, less compute; the DPAR count is linear in M.
  const ar_shape s = imagenet(B, 256);
  const double f100 = dpar::dpar_paper_flops(s, B.split, 100), f150 = dpar::dpar_paper_flops(s, B.split, 150),
               f200 = dpar::dpar_paper_flops(s, B.split, 200);
  CHECK(f100 < f150);
  CHECK(f200 - f150 == doctest::Approx(f150 - f100));
}

TEST_CASE("flops: full counts (causal attention, 2 FLOPs per MAC, training = 3 x forward) by brute force") {
  // A toy: d 64, 4 heads, F 256, V 100, 10 classes, T 16, the worked example's M = 9, split 1/2/1.
  const ar_shape s{64, 4, 256, 100, 10, 16};
  const dpar_split split{1, 2, 1};
  const double d = 64, f = 256, v = 100, m = 9;
  const auto block_linear = [&](double positions) { return positions * (4 * d * d + 3 * d * f); };
  const auto causal_attention = [&](int positions) {  // query i: i + 1 keys, QK and AV, every head
    double macs = 0;
    for (int i = 0; i < positions; ++i) macs += 2.0 * (i + 1) * d;
    return macs;
  };
  const double llamagen_macs = 4 * (block_linear(16) + causal_attention(16)) + 16 * d * v;
  const dpar::flop_count lg = dpar::llamagen_full_flops(s, 4);
  CHECK(lg.forward == doctest::Approx(2.0 * llamagen_macs));
  CHECK(lg.training == doctest::Approx(6.0 * llamagen_macs));
  CHECK(dpar::llamagen_paper_flops(s, 4) == doctest::Approx(4 * block_linear(16) + 16 * d * v));

  const double global = 2 * (block_linear(1 + m) + causal_attention(10));
  const double encoder = block_linear(15) + causal_attention(15) + d * d * (2 * m + 2 * 15) + 2 * d * 15;
  const double decoder = block_linear(16) + causal_attention(16) + d * d * (m + 1);
  const double dpar_macs = global + encoder + decoder + 16 * d * v;
  const dpar::flop_count dp = dpar::dpar_full_flops(s, split, m);
  CHECK(dp.forward == doctest::Approx(2.0 * dpar_macs));
  CHECK(dp.training == doctest::Approx(3.0 * dp.forward));
  CHECK(
      dpar::dpar_paper_flops(s, split, m) ==
      doctest::Approx(dpar_macs - 2 * causal_attention(10) - causal_attention(15) - 2 * d * 15 - causal_attention(16)));
}

TEST_CASE("flops: bad shapes and splits are refused") {
  ar_shape s = imagenet(B, 256);
  CHECK_THROWS_WITH_AS(dpar::dpar_paper_flops(s, B.split, 0.5), doctest::Contains("mean_patches 0.5"), patchzoo::error);
  CHECK_THROWS_AS(dpar::dpar_paper_flops(s, B.split, 300.0), patchzoo::error);
  CHECK_THROWS_AS(dpar::dpar_parameters(s, dpar_split{0, 8, 3}), patchzoo::error);
  CHECK_THROWS_AS(dpar::llamagen_parameters(s, -1), patchzoo::error);
  s.heads = 7;
  CHECK_THROWS_WITH_AS(dpar::llamagen_paper_flops(s, 12), doctest::Contains("multiple of heads 7"), patchzoo::error);
  CHECK_THROWS_AS(dpar::round_up_256_ffn(0), patchzoo::error);
}
