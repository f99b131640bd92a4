// Eigen vs xtensor: row_argmax (ties resolve to the first maximum) and transpose_last2 (assign and
// accumulate), plus identical errors for bad shapes. Both ops move values without arithmetic, so
// results must match exactly.
#include "backend_pair.hpp"

using namespace patchzoo;
using namespace patchzoo::test;

TEST_CASE_TEMPLATE("backends agree: row_argmax, and ties pick the first maximum", T, PZ_REAL_TYPES) {
  backend_pair be;
  const auto in = random_tensor<T>(shape_t{700, 97}, 11);
  tensor<std::int32_t> r(shape_t{700}), f(shape_t{700});
  row_argmax(be.ref, r.view(), in.cview());
  row_argmax(be.fast, f.view(), in.cview());
  CHECK(f.to_vector() == r.to_vector());
  for (std::int64_t n = 0; n < 700; ++n)
    for (std::int64_t c = 0; c < 97; ++c) REQUIRE(in[n * 97 + c] <= in[n * 97 + r[n]]);

  const tensor<T> ties(shape_t{3, 4}, {1, 3, 3, 0, -2, -2, -2, -2, 0, 0, 0, 5});
  tensor<std::int32_t> tr(shape_t{3}), tf(shape_t{3});
  row_argmax(be.ref, tr.view(), ties.cview());
  row_argmax(be.fast, tf.view(), ties.cview());
  CHECK(tr.to_vector() == std::vector<std::int32_t>{1, 0, 3});
  CHECK(tf.to_vector() == tr.to_vector());
}

TEST_CASE_TEMPLATE("backends agree: transpose_last2 assigns and accumulates", T, PZ_REAL_TYPES) {
  backend_pair be;
  const std::int64_t b = 5, m = 37, n = 64;
  const auto in = random_tensor<T>(shape_t{b, m, n}, 12);
  tensor<T> r(shape_t{b, n, m}), f(shape_t{b, n, m});
  transpose_last2(be.ref, r.view(), in.cview(), false);
  transpose_last2(be.fast, f.view(), in.cview(), false);
  CHECK(f.to_vector() == r.to_vector());
  CHECK(r[(2 * n + 7) * m + 3] == in[(2 * m + 3) * n + 7]);

  const auto start = random_tensor<T>(shape_t{b, n, m}, 13);
  auto ra = start.clone(), fa = start.clone();
  transpose_last2(be.ref, ra.view(), in.cview(), true);
  transpose_last2(be.fast, fa.view(), in.cview(), true);
  compare("transpose_last2 accumulate", fa, ra, "elementwise");
  CHECK(ra[(4 * n + 60) * m + 36] == start[(4 * n + 60) * m + 36] + in[(4 * m + 36) * n + 60]);
}

TEST_CASE("backends agree: layout ops reject bad shapes with the same message") {
  backend_pair be;
  const auto in = random_tensor<float>(shape_t{4, 6}, 14);
  tensor<std::int32_t> short_out(shape_t{3});
  expect_same_error(
      "row_argmax output too short", [&] { row_argmax(be.ref, short_out.view(), in.cview()); },
      [&] { row_argmax(be.fast, short_out.view(), in.cview()); });
  const auto in3 = random_tensor<float>(shape_t{2, 4, 6}, 15);
  tensor<float> wrong(shape_t{2, 4, 6});
  expect_same_error(
      "transpose_last2 output not transposed", [&] { transpose_last2(be.ref, wrong.view(), in3.cview(), false); },
      [&] { transpose_last2(be.fast, wrong.view(), in3.cview(), false); });
  tensor<float> square(shape_t{1, 3, 3});
  expect_same_error(
      "transpose_last2 in place",
      [&] { transpose_last2(be.ref, square.view(), const_view<float>(square.view()), false); },
      [&] { transpose_last2(be.fast, square.view(), const_view<float>(square.view()), false); });
}
