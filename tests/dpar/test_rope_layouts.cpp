// DPAR RoPE tables: zero class/start rows, the 2-D grid layout, the 1-D
// slot layout and the dynamic 3-d / 4-d block orders (hd = 64 and general hd), and the rotation they drive
// (the backend's rope_forward) against a complex-multiply reference.
#include <doctest/doctest.h>

#include <cmath>
#include <complex>
#include <cstdint>
#include <vector>

#include "patchzoo/backend/xtensor/xtensor_backend.hpp"
#include "patchzoo/core/rng.hpp"
#include "patchzoo/dpar/rope_layouts.hpp"

using namespace patchzoo;
using dpar::global_position;

namespace {

// The angle of pair k in row i, read back from the table (rows with cos = sin = 0 have none).
double angle_of(const nn::rope_table<double>& t, std::int64_t i, std::int64_t k) {
  const std::int64_t pairs = t.cos.dim(1);
  return std::atan2(t.sin[i * pairs + k], t.cos[i * pairs + k]);
}

// Checks that pair k of row i turns by position * 10000^(-j/count) (compared as cos/sin, so no 2 pi wrap).
void check_pair(const nn::rope_table<double>& t, std::int64_t i, std::int64_t k, double position, std::int64_t j,
                std::int64_t count) {
  const std::int64_t pairs = t.cos.dim(1);
  const double angle = position * std::pow(10000.0, -static_cast<double>(j) / static_cast<double>(count));
  INFO("row " << i << " pair " << k << " position " << position);
  CHECK(t.cos[i * pairs + k] == doctest::Approx(std::cos(angle)).epsilon(1e-12));
  CHECK(t.sin[i * pairs + k] == doctest::Approx(std::sin(angle)).epsilon(1e-12));
}

void check_zero_row(const nn::rope_table<double>& t, std::int64_t i) {
  const std::int64_t pairs = t.cos.dim(1);
  for (std::int64_t k = 0; k < pairs; ++k) {
    CHECK(t.cos[i * pairs + k] == 0.0);
    CHECK(t.sin[i * pairs + k] == 0.0);
  }
}

}  // namespace

TEST_CASE("rope_grid_tokens: pairs 0..hd/4-1 follow the row, the rest the column, at 10000^(-k/(hd/4))") {
  const int w = 16, hd = 64;
  const auto t = dpar::rope_grid_tokens<double>(256, w, hd, dpar::grid_rope_start::token_0);
  REQUIRE(t.cos.shape() == shape_t{256, 32});
  for (std::int64_t tok : {0, 1, 15, 16, 17, 100, 255}) {
    const std::int64_t row = tok / w, col = tok % w;
    for (std::int64_t k = 0; k < 16; ++k) {
      check_pair(t, tok, k, static_cast<double>(row), k, 16);
      check_pair(t, tok, 16 + k, static_cast<double>(col), k, 16);
    }
  }
  // Token 0 is the identity rotation (cell (0, 0)), not the zero row.
  CHECK(t.cos[0] == 1.0);
  CHECK(t.sin[0] == 0.0);
  // hd = 8: one row pair and one column pair per half, frequency 1 and 10000^(-1/2).
  const auto small = dpar::rope_grid_tokens<double>(12, 4, 8, dpar::grid_rope_start::token_0);
  check_pair(small, 9, 0, 2.0, 0, 2);
  check_pair(small, 9, 1, 2.0, 1, 2);
  check_pair(small, 9, 2, 1.0, 0, 2);
  check_pair(small, 9, 3, 1.0, 1, 2);
}

TEST_CASE("rope_grid_tokens with start slot: row 0 is all zeros, row j is the cell of token j-1") {
  const auto plain = dpar::rope_grid_tokens<double>(16, 4, 64, dpar::grid_rope_start::token_0);
  const auto shifted = dpar::rope_grid_tokens<double>(16, 4, 64, dpar::grid_rope_start::zero_slot);
  REQUIRE(shifted.cos.shape() == shape_t{17, 32});
  check_zero_row(shifted, 0);
  for (std::int64_t j = 1; j <= 16; ++j)
    for (std::int64_t k = 0; k < 32; ++k) {
      CHECK(shifted.cos[j * 32 + k] == plain.cos[(j - 1) * 32 + k]);
      CHECK(shifted.sin[j * 32 + k] == plain.sin[(j - 1) * 32 + k]);
    }
  CHECK_THROWS_AS(dpar::rope_grid_tokens<float>(4, 0, 64, dpar::grid_rope_start::zero_slot), patchzoo::error);
  CHECK_THROWS_AS(dpar::rope_grid_tokens<float>(4, 4, 62, dpar::grid_rope_start::zero_slot), patchzoo::error);
}

TEST_CASE("rope_global_slots slot_1d: class row zero, patch p (slot p+1) at position p, 10000^(-k/32)") {
  const std::vector<std::int32_t> lengths{1, 2, 1, 2, 2, 2, 2, 2, 2};
  const auto t = dpar::rope_global_slots<double>(global_position::slot_1d, lengths, 4, 64);
  REQUIRE(t.cos.shape() == shape_t{10, 32});
  check_zero_row(t, 0);
  for (std::int64_t p = 0; p < 9; ++p)
    for (std::int64_t k = 0; k < 32; ++k) check_pair(t, p + 1, k, static_cast<double>(p), k, 32);
  // Patch 0 is the identity: slot positions restart at 0 after the class slot.
  CHECK(t.cos[32] == 1.0);
  CHECK(angle_of(t, 2, 0) == doctest::Approx(1.0));
}

TEST_CASE("rope_global_slots dynamic_3d: [row x16, col_start x8, col_end x8] for hd = 64") {
  // Worked example (W = 4): patches {0}{1,2}{3}{4,5}{6,7}{8,9}{10,11}{12,13}{14,15}.
  const std::vector<std::int32_t> lengths{1, 2, 1, 2, 2, 2, 2, 2, 2};
  const auto t = dpar::rope_global_slots<double>(global_position::dynamic_3d, lengths, 4, 64);
  REQUIRE(t.cos.shape() == shape_t{10, 32});
  check_zero_row(t, 0);
  const std::int64_t expect_r[9] = {0, 0, 0, 1, 1, 2, 2, 3, 3}, expect_cs[9] = {0, 1, 3, 0, 2, 0, 2, 0, 2},
                     expect_ce[9] = {0, 2, 3, 1, 3, 1, 3, 1, 3};
  for (std::int64_t p = 0; p < 9; ++p) {
    for (std::int64_t k = 0; k < 16; ++k) check_pair(t, p + 1, k, static_cast<double>(expect_r[p]), k, 16);
    for (std::int64_t k = 0; k < 8; ++k) {
      check_pair(t, p + 1, 16 + k, static_cast<double>(expect_cs[p]), k, 8);
      check_pair(t, p + 1, 24 + k, static_cast<double>(expect_ce[p]), k, 8);
    }
  }
}

TEST_CASE("rope_global_slots dynamic_4d: [row x16, cs x4, ce x4, ce x4, cs x4] for hd = 64; general hd") {
  // A patch 5..7 on a row of width 8 (r 0, cs 5, ce 7) and one 9..10 (r 1, cs 1, ce 2).
  const std::vector<std::int32_t> lengths{1, 4, 3, 1, 2};
  const auto t = dpar::rope_global_slots<double>(global_position::dynamic_4d, lengths, 8, 64);
  check_zero_row(t, 0);
  const auto check_patch = [&](const nn::rope_table<double>& table, std::int64_t slot, double r, double cs, double ce,
                               std::int64_t hd) {
    const std::int64_t rp = hd / 4, cp = hd / 16;
    for (std::int64_t k = 0; k < rp; ++k) check_pair(table, slot, k, r, k, rp);
    const double blocks[4] = {cs, ce, ce, cs};
    for (std::int64_t b = 0; b < 4; ++b)
      for (std::int64_t k = 0; k < cp; ++k) check_pair(table, slot, rp + b * cp + k, blocks[b], k, cp);
  };
  check_patch(t, 3, 0, 5, 7, 64);
  check_patch(t, 5, 1, 1, 2, 64);
  check_patch(t, 2, 0, 1, 4, 64);
  // The blocks really differ (cs != ce): pair 16 (cs) and pair 20 (ce) of slot 3 have angles 5 and 7.
  CHECK(angle_of(t, 3, 16) == doctest::Approx(5.0 - 2.0 * M_PI));
  CHECK(angle_of(t, 3, 20) == doctest::Approx(7.0 - 2.0 * M_PI));
  CHECK(angle_of(t, 3, 28) == doctest::Approx(5.0 - 2.0 * M_PI));

  // hd = 128: 32 row pairs, four blocks of 8; hd = 32: 8 row pairs, blocks of 2.
  const auto wide = dpar::rope_global_slots<double>(global_position::dynamic_4d, lengths, 8, 128);
  REQUIRE(wide.cos.shape() == shape_t{6, 64});
  check_patch(wide, 3, 0, 5, 7, 128);
  const auto narrow = dpar::rope_global_slots<double>(global_position::dynamic_4d, lengths, 8, 32);
  check_patch(narrow, 3, 0, 5, 7, 32);
  const auto narrow3 = dpar::rope_global_slots<double>(global_position::dynamic_3d, lengths, 8, 32);
  check_pair(narrow3, 3, 8, 5.0, 0, 4);
  check_pair(narrow3, 3, 12, 7.0, 0, 4);

  CHECK_THROWS_WITH_AS(dpar::rope_global_slots<float>(global_position::dynamic_4d, lengths, 8, 40),
                       doctest::Contains("multiple of 16"), patchzoo::error);
  CHECK_THROWS_AS(dpar::rope_global_slots<float>(global_position::dynamic_3d, lengths, 0, 64), patchzoo::error);
  CHECK_NOTHROW(dpar::rope_global_slots<float>(global_position::slot_1d, lengths, 8, 40));
}

TEST_CASE("rope tables drive rope_forward as a complex multiply; the zero row zeroes q and k") {
  xtensor_backend be;
  const std::int64_t heads = 3, hd = 64, pairs = hd / 2;
  const std::vector<std::int32_t> lengths{1, 2, 4, 1, 3, 4, 1};
  for (auto layout : {global_position::slot_1d, global_position::dynamic_3d, global_position::dynamic_4d}) {
    const auto table = dpar::rope_global_slots<double>(layout, lengths, 8, hd);
    const std::int64_t slots = table.cos.dim(0);
    tensor<double> x(shape_t{slots, heads, hd});
    for (std::int64_t i = 0; i < x.numel(); ++i) x[i] = normal01(9, static_cast<std::uint64_t>(i));
    const tensor<double> before = x.clone();
    rope_forward(be, x.view(), table.cos.cview(), table.sin.cview());
    for (std::int64_t s = 0; s < slots; ++s)
      for (std::int64_t h = 0; h < heads; ++h)
        for (std::int64_t k = 0; k < pairs; ++k) {
          const std::int64_t at = (s * heads + h) * hd + 2 * k;
          // Reference: z * (c + i s) with z = x0 + i x1 (zero row: multiply by 0).
          const std::complex<double> z(before[at], before[at + 1]);
          const std::complex<double> w(table.cos[s * pairs + k], table.sin[s * pairs + k]);
          const std::complex<double> want = z * w;
          CHECK(x[at] == doctest::Approx(want.real()).epsilon(1e-12));
          CHECK(x[at + 1] == doctest::Approx(want.imag()).epsilon(1e-12));
          if (s == 0)
            CHECK((x[at] == 0.0 && x[at + 1] == 0.0));
          else
            CHECK(std::norm(w) == doctest::Approx(1.0));  // a true rotation elsewhere
        }
  }
  // Grid table with the start slot, float: same reference, and the rotation preserves the pair norm.
  const auto grid = dpar::rope_grid_tokens<float>(20, 5, 16, dpar::grid_rope_start::zero_slot);
  tensor<float> q(shape_t{21, 1, 16});
  for (std::int64_t i = 0; i < q.numel(); ++i) q[i] = static_cast<float>(normal01(3, static_cast<std::uint64_t>(i)));
  const tensor<float> q0 = q.clone();
  rope_forward(be, q.view(), grid.cos.cview(), grid.sin.cview());
  for (std::int64_t j = 1; j < 21; ++j)
    for (std::int64_t k = 0; k < 8; ++k) {
      const std::int64_t at = j * 16 + 2 * k;
      const std::int64_t cell = j - 1, pos = k < 4 ? cell / 5 : cell % 5;
      const double angle = static_cast<double>(pos) * std::pow(10000.0, -static_cast<double>(k % 4) / 4.0);
      const std::complex<double> want = std::complex<double>(q0[at], q0[at + 1]) * std::polar(1.0, angle);
      CHECK(q[at] == doctest::Approx(want.real()).epsilon(1e-5));
      CHECK(q[at + 1] == doctest::Approx(want.imag()).epsilon(1e-5));
    }
  for (std::int64_t i = 0; i < 16; ++i) CHECK(q[i] == 0.0f);
}

TEST_CASE("rope_global_last_slot is the last row of rope_global_slots, for every layout") {
  const std::vector<std::int32_t> lengths{3, 1, 4, 1, 5, 2};
  for (const auto layout : {global_position::slot_1d, global_position::dynamic_3d, global_position::dynamic_4d})
    for (std::size_t p = 0; p <= lengths.size(); ++p) {
      const std::vector<std::int32_t> prefix(lengths.begin(), lengths.begin() + static_cast<std::ptrdiff_t>(p));
      const auto all = dpar::rope_global_slots<float>(layout, prefix, 4, 64);
      const auto last = dpar::rope_global_last_slot<float>(layout, prefix, 4, 64);
      REQUIRE(last.cos.dim(0) == 1);
      for (std::int64_t k = 0; k < 32; ++k) {
        CHECK(last.cos[k] == all.cos[static_cast<std::int64_t>(p) * 32 + k]);
        CHECK(last.sin[k] == all.sin[static_cast<std::int64_t>(p) * 32 + k]);
      }
    }
}
