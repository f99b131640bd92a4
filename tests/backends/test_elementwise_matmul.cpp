// Eigen vs xtensor: element-wise utilities, reductions, GEMM in every transpose and batch layout.
#include "backend_pair.hpp"

using namespace patchzoo;
using namespace patchzoo::test;

namespace {
// Large enough to run on several threads (above eigen_detail::parallel_threshold), odd to leave a tail.
const shape_t big{257, 131};
}  // namespace

TEST_CASE_TEMPLATE("backends agree: fill, copy, add, accumulate, scale", T, PZ_REAL_TYPES) {
  backend_pair be;
  const auto a = random_tensor<T>(big, 1), b = random_tensor<T>(big, 2);
  tensor<T> r(big), f(big);
  fill(be.ref, r.view(), T(0.25));
  fill(be.fast, f.view(), T(0.25));
  compare("fill", f, r, "elementwise");
  CHECK(f[big.numel() - 1] == T(0.25));

  copy(be.ref, r.view(), a.cview());
  copy(be.fast, f.view(), a.cview());
  compare("copy", f, r, "elementwise");

  add(be.ref, r.view(), a.cview(), b.cview());
  add(be.fast, f.view(), a.cview(), b.cview());
  compare("add", f, r, "elementwise");

  // out aliasing a: r = r + b.
  add(be.ref, r.view(), r.cview(), b.cview());
  add(be.fast, f.view(), f.cview(), b.cview());
  compare("add in place", f, r, "elementwise");

  accumulate(be.ref, r.view(), a.cview(), T(-0.5));
  accumulate(be.fast, f.view(), a.cview(), T(-0.5));
  compare("accumulate", f, r, "elementwise");

  scale(be.ref, r.view(), T(3));
  scale(be.fast, f.view(), T(3));
  compare("scale", f, r, "elementwise");
  CHECK(f[7] != T(0));
}

TEST_CASE_TEMPLATE("backends agree: sum and sum_squares, small and large", T, PZ_REAL_TYPES) {
  backend_pair be;
  for (const shape_t s : {shape_t{5}, shape_t{3, 7}, big}) {
    const auto x = random_tensor<T>(s, 3, -2.0, 3.0);
    const tolerance tol = f32_tolerance("reduction");
    const double want = sum(be.ref, x.cview()), got = sum(be.fast, x.cview());
    CHECK(std::abs(got - want) <= tol.abs + tol.rel * std::abs(want));
    const double want2 = sum_squares(be.ref, x.cview()), got2 = sum_squares(be.fast, x.cview());
    CHECK(std::abs(got2 - want2) <= tol.abs + tol.rel * std::abs(want2));
    CHECK(want2 > 0.0);
  }
}

TEST_CASE_TEMPLATE("backends agree: matmul 2-D, all transposes, alpha and beta", T, PZ_REAL_TYPES) {
  backend_pair be;
  const std::int64_t m = 37, n = 53, k = 29;
  for (int mode = 0; mode < 4; ++mode) {
    const bool ta = mode & 1, tb = mode & 2;
    const auto a = random_tensor<T>(ta ? shape_t{k, m} : shape_t{m, k}, 10 + mode);
    const auto b = random_tensor<T>(tb ? shape_t{n, k} : shape_t{k, n}, 20 + mode);
    const auto c0 = random_tensor<T>(shape_t{m, n}, 30 + mode);
    auto r = c0.clone(), f = c0.clone();
    matmul(be.ref, r.view(), a.cview(), b.cview(), ta, tb, T(0.75), T(0.5));
    matmul(be.fast, f.view(), a.cview(), b.cview(), ta, tb, T(0.75), T(0.5));
    compare("matmul alpha/beta transpose mode " + std::to_string(mode), f, r, "matmul");
    // beta = 0 ignores the old contents, even NaN.
    fill(be.ref, r.view(), T(NAN));
    fill(be.fast, f.view(), T(NAN));
    matmul(be.ref, r.view(), a.cview(), b.cview(), ta, tb);
    matmul(be.fast, f.view(), a.cview(), b.cview(), ta, tb);
    compare("matmul beta 0 transpose mode " + std::to_string(mode), f, r, "matmul");
  }
}

TEST_CASE_TEMPLATE("backends agree: batched matmul, per-batch and shared b", T, PZ_REAL_TYPES) {
  backend_pair be;
  const std::int64_t batch = 3, m = 64, n = 48, k = 40;
  for (int mode = 0; mode < 4; ++mode) {
    const bool ta = mode & 1, tb = mode & 2;
    const auto a = random_tensor<T>(ta ? shape_t{batch, k, m} : shape_t{batch, m, k}, 40 + mode);
    const auto b3 = random_tensor<T>(tb ? shape_t{batch, n, k} : shape_t{batch, k, n}, 50 + mode);
    const auto b2 = random_tensor<T>(tb ? shape_t{n, k} : shape_t{k, n}, 60 + mode);
    const auto c0 = random_tensor<T>(shape_t{batch, m, n}, 70 + mode);
    auto r = c0.clone(), f = c0.clone();
    matmul(be.ref, r.view(), a.cview(), b3.cview(), ta, tb, T(1), T(1));
    matmul(be.fast, f.view(), a.cview(), b3.cview(), ta, tb, T(1), T(1));
    compare("batched matmul mode " + std::to_string(mode), f, r, "matmul");
    matmul(be.ref, r.view(), a.cview(), b2.cview(), ta, tb, T(-2), T(0.25));
    matmul(be.fast, f.view(), a.cview(), b2.cview(), ta, tb, T(-2), T(0.25));
    compare("shared-b matmul mode " + std::to_string(mode), f, r, "matmul");
  }
}

// Few rows times B^T is the decoding shape (one position per sequence); the eigen backend takes a
// row-dot path there up to 8 rows, so 9 rows checks the sgemm side of the boundary too.
TEST_CASE_TEMPLATE("backends agree: matmul with few rows times B transposed", T, PZ_REAL_TYPES) {
  backend_pair be;
  const std::int64_t n = 600, k = 96;
  const auto b = random_tensor<T>(shape_t{n, k}, 80);
  for (const std::int64_t m : {1, 2, 8, 9}) {
    const auto a = random_tensor<T>(shape_t{m, k}, 81 + m);
    const auto c0 = random_tensor<T>(shape_t{m, n}, 90 + m);
    auto r = c0.clone(), f = c0.clone();
    matmul(be.ref, r.view(), a.cview(), b.cview(), false, true, T(0.75), T(0.5));
    matmul(be.fast, f.view(), a.cview(), b.cview(), false, true, T(0.75), T(0.5));
    compare("few-row matmul alpha/beta, m = " + std::to_string(m), f, r, "matmul");
    CHECK(f[m * n - 1] != c0[m * n - 1]);
    fill(be.ref, r.view(), T(NAN));
    fill(be.fast, f.view(), T(NAN));
    matmul(be.ref, r.view(), a.cview(), b.cview(), false, true);
    matmul(be.fast, f.view(), a.cview(), b.cview(), false, true);
    compare("few-row matmul beta 0 over NaN, m = " + std::to_string(m), f, r, "matmul");
  }
  // A [2, 3, k] batch against the shared weight is one 6-row product.
  const auto a3 = random_tensor<T>(shape_t{2, 3, k}, 99);
  tensor<T> r(shape_t{2, 3, n}), f(shape_t{2, 3, n});
  matmul(be.ref, r.view(), a3.cview(), b.cview(), false, true);
  matmul(be.fast, f.view(), a3.cview(), b.cview(), false, true);
  compare("few-row batched matmul with shared b", f, r, "matmul");
}

// Few rows times B untransposed is decoding through a transposed weight copy [k, n]; the eigen backend's
// broadcast path takes 1-256 rows in tiles of 8/4/2/1 rows and 32/16/1 columns (n = 88 = 2 x 32 + 16 + 8,
// n = 40 = 32 + 8), and 257 rows goes back to sgemm.
TEST_CASE_TEMPLATE("backends agree: matmul with few rows times B untransposed (a transposed weight copy)", T,
                   PZ_REAL_TYPES) {
  backend_pair be;
  struct shape {
    std::int64_t m, k, n;
  };
  std::vector<shape> shapes;
  for (const std::int64_t k : {96, 7})
    for (const std::int64_t m : {1, 3, 8, 9, 15, 40, 64}) shapes.push_back({m, k, 88});
  for (const std::int64_t m : {255, 257}) shapes.push_back({m, 7, 40});
  for (const shape& s : shapes) {
    const std::int64_t m = s.m, k = s.k, n = s.n;  // not a structured binding: INFO captures them
    INFO("m = " << m << ", k = " << k << ", n = " << n);
    const auto b = random_tensor<T>(shape_t{k, n}, 120 + k);
    const auto a = random_tensor<T>(shape_t{m, k}, 130 + m);
    const auto c0 = random_tensor<T>(shape_t{m, n}, 140 + m);
    auto r = c0.clone(), f = c0.clone();
    matmul(be.ref, r.view(), a.cview(), b.cview(), false, false, T(0.75), T(0.5));
    matmul(be.fast, f.view(), a.cview(), b.cview(), false, false, T(0.75), T(0.5));
    compare("broadcast matmul alpha/beta", f, r, "matmul");
    CHECK(f[m * n - 1] != c0[m * n - 1]);
    fill(be.ref, r.view(), T(NAN));
    fill(be.fast, f.view(), T(NAN));
    matmul(be.ref, r.view(), a.cview(), b.cview(), false, false);
    matmul(be.fast, f.view(), a.cview(), b.cview(), false, false);
    compare("broadcast matmul beta 0 over NaN", f, r, "matmul");
  }
}
