// FID-FMNIST's arithmetic: the symmetric eigen-solver, Gaussian fits, and the Frechet distance against
// closed forms (exact statistics and sampled Gaussians), identical sets and sample order.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "patchzoo/backend/eigen/symmetric_eigen.hpp"
#include "patchzoo/core/rng.hpp"
#include "patchzoo/eval/frechet_distance.hpp"
#include "support/random.hpp"

using namespace patchzoo;
using namespace patchzoo::eval;

namespace {

feature_statistics exact(std::vector<double> mean, std::vector<double> covariance) {
  const auto n = static_cast<std::int64_t>(mean.size());
  return {1000, n, std::move(mean), std::move(covariance)};
}

// tr((S1 S2)^(1/2)) for 2 x 2 SPD matrices without any matrix root: the eigenvalues l1, l2 of S1 S2 are
// real and non-negative, and (sqrt l1 + sqrt l2)^2 = tr(S1 S2) + 2 sqrt(det S1 det S2).
double trace_sqrt_2x2(const std::vector<double>& a, const std::vector<double>& b) {
  const double tr_ab = a[0] * b[0] + a[1] * b[2] + a[2] * b[1] + a[3] * b[3];
  const double det_a = a[0] * a[3] - a[1] * a[2], det_b = b[0] * b[3] - b[1] * b[2];
  return std::sqrt(tr_ab + 2.0 * std::sqrt(det_a * det_b));
}

// n samples of N(mean, L L^T), L lower-triangular 2 x 2 {l00, l10, l11}.
tensor<double> gaussian_samples(std::int64_t n, const std::vector<double>& mean, const std::vector<double>& l,
                                std::uint64_t seed) {
  tensor<double> x(shape_t{n, 2});
  for (std::int64_t i = 0; i < n; ++i) {
    const double z0 = normal01(seed, static_cast<std::uint64_t>(2 * i)), z1 = normal01(seed, static_cast<std::uint64_t>(2 * i + 1));
    x[2 * i] = mean[0] + l[0] * z0;
    x[2 * i + 1] = mean[1] + l[1] * z0 + l[2] * z1;
  }
  return x;
}

}  // namespace

TEST_CASE("symmetric_eigen: a = V diag(values) V^T with orthonormal V, values ascending") {
  const std::int64_t n = 6;
  const auto r = test::random_tensor<double>(shape_t{n, n}, 7);
  std::vector<double> a(n * n);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < n; ++j) a[i * n + j] = r[i * n + j] + r[j * n + i];
  std::vector<double> values(n), v(n * n);
  symmetric_eigen(n, a.data(), values.data(), v.data());
  for (std::int64_t k = 1; k < n; ++k) CHECK(values[k - 1] <= values[k]);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      double rebuilt = 0, gram = 0;
      for (std::int64_t k = 0; k < n; ++k) {
        rebuilt += v[i * n + k] * values[k] * v[j * n + k];
        gram += v[k * n + i] * v[k * n + j];
      }
      CHECK(rebuilt == doctest::Approx(a[i * n + j]).scale(1).epsilon(1e-12));
      CHECK(gram == doctest::Approx(i == j ? 1.0 : 0.0).scale(1).epsilon(1e-12));
    }
}

TEST_CASE("symmetric_eigen: non-finite input is an error, not garbage") {
  const double nan = std::nan("");
  std::vector<double> a{1, nan, nan, 1}, values(2), v(4);
  CHECK_THROWS_AS(symmetric_eigen(2, a.data(), values.data(), v.data()), error);
}

TEST_CASE("feature statistics: mean and unbiased covariance of a small set") {
  const tensor<float> f(shape_t{4, 2}, {1, 2, 3, 2, 5, 6, 7, 6});
  const auto s = compute_feature_statistics(f);
  CHECK(s.count == 4);
  CHECK(s.dim == 2);
  CHECK(s.mean[0] == doctest::Approx(4.0));
  CHECK(s.mean[1] == doctest::Approx(4.0));
  // deviations (-3,-2), (-1,-2), (1,2), (3,2): sums 20, 16, 16; divided by N - 1 = 3
  CHECK(s.covariance[0] == doctest::Approx(20.0 / 3));
  CHECK(s.covariance[1] == doctest::Approx(16.0 / 3));
  CHECK(s.covariance[2] == doctest::Approx(16.0 / 3));
  CHECK(s.covariance[3] == doctest::Approx(16.0 / 3));
  CHECK_THROWS_AS(compute_feature_statistics(tensor<float>(shape_t{1, 3})), error);
  CHECK_THROWS_AS(compute_feature_statistics(tensor<float>(shape_t{6})), error);
}

TEST_CASE("frechet distance of exact statistics: diagonal covariances in closed form") {
  // Commuting (diagonal) S1, S2: tr(S1 + S2 - 2 (S1 S2)^(1/2)) = sum (sqrt a_i - sqrt b_i)^2.
  const std::vector<double> a{1.0, 4.0, 0.25, 9.0}, b{2.0, 1.0, 0.25, 16.0};
  const std::vector<double> mu1{0.0, 1.0, -2.0, 0.5}, mu2{1.0, 1.0, 0.0, -0.5};
  std::vector<double> s1(16, 0.0), s2(16, 0.0);
  double want = 0;
  for (int i = 0; i < 4; ++i) {
    s1[i * 5] = a[i];
    s2[i * 5] = b[i];
    want += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i]) + (std::sqrt(a[i]) - std::sqrt(b[i])) * (std::sqrt(a[i]) - std::sqrt(b[i]));
  }
  CHECK(frechet_distance_from_statistics(exact(mu1, s1), exact(mu2, s2)) == doctest::Approx(want).epsilon(1e-12));
  CHECK(frechet_distance_from_statistics(exact(mu1, s1), exact(mu1, s1)) == doctest::Approx(0.0).scale(1).epsilon(1e-12));
}

TEST_CASE("frechet distance of exact statistics: non-commuting 2 x 2 covariances in closed form") {
  const std::vector<double> s1{2.0, 0.8, 0.8, 1.0}, s2{0.5, -0.3, -0.3, 3.0};
  const std::vector<double> mu1{0.5, -1.0}, mu2{-0.5, 1.0};
  const double want = 1.0 + 4.0 + (2.0 + 1.0) + (0.5 + 3.0) - 2.0 * trace_sqrt_2x2(s1, s2);
  CHECK(frechet_distance_from_statistics(exact(mu1, s1), exact(mu2, s2)) == doctest::Approx(want).epsilon(1e-12));
  // the distance is symmetric although S1 S2 != S2 S1
  CHECK(frechet_distance_from_statistics(exact(mu2, s2), exact(mu1, s1)) == doctest::Approx(want).epsilon(1e-12));
}

TEST_CASE("frechet distance of sampled Gaussians approaches the closed form") {
  // N(mu1, L1 L1^T) vs N(mu2, L2 L2^T); with 200 000 samples each the fitted means and covariances are
  // within ~0.01 of the truth, so the distance is within a few hundredths.
  const std::vector<double> mu1{0.0, 0.0}, mu2{1.0, -0.5}, l1{1.0, 0.6, 0.8}, l2{0.5, -0.4, 1.5};
  const std::vector<double> s1{l1[0] * l1[0], l1[0] * l1[1], l1[0] * l1[1], l1[1] * l1[1] + l1[2] * l1[2]};
  const std::vector<double> s2{l2[0] * l2[0], l2[0] * l2[1], l2[0] * l2[1], l2[1] * l2[1] + l2[2] * l2[2]};
  const double want = 1.0 + 0.25 + s1[0] + s1[3] + s2[0] + s2[3] - 2.0 * trace_sqrt_2x2(s1, s2);
  const std::int64_t n = 200000;
  const auto x1 = gaussian_samples(n, mu1, l1, 11), x2 = gaussian_samples(n, mu2, l2, 12);
  CHECK(frechet_distance(x1, x2) == doctest::Approx(want).scale(1).epsilon(0.03));
  // two independent samples of the same Gaussian: close to 0 but not exactly (sampling noise)
  const double same = frechet_distance(x1, gaussian_samples(n, mu1, l1, 13));
  CHECK(same >= 0.0);
  CHECK(same < 1e-3);
}

TEST_CASE("frechet distance: identical sets give ~0, also with a singular covariance") {
  const auto a = test::random_tensor<float>(shape_t{50, 8}, 21);
  CHECK(std::abs(frechet_distance(a, a)) < 1e-9);
  // A rank-4 covariance in 16 dims: its zero eigenvalues come out as +-1e-16, whose roots (1e-8 each)
  // are the floor of any eigen-solver route, so ~0 here means small next to tr(S) ~ 5.
  const auto few = test::random_tensor<float>(shape_t{5, 16}, 22);
  CHECK(std::abs(frechet_distance(few, few)) < 1e-6);
  const auto b = test::random_tensor<float>(shape_t{50, 8}, 23, 0.0, 2.0);
  CHECK(frechet_distance(a, b) > 0.1);
}

TEST_CASE("frechet distance does not depend on sample order") {
  const auto a = test::random_tensor<float>(shape_t{64, 6}, 31);
  const auto b = test::random_tensor<float>(shape_t{40, 6}, 32, -0.5, 1.5);
  tensor<float> reversed(a.shape());
  for (std::int64_t i = 0; i < 64; ++i)
    for (std::int64_t j = 0; j < 6; ++j) reversed[i * 6 + j] = a[(63 - i) * 6 + j];
  const double d = frechet_distance(a, b);
  CHECK(d > 0.1);
  CHECK(frechet_distance(reversed, b) == doctest::Approx(d).epsilon(1e-10));
  CHECK(frechet_distance(b, a) == doctest::Approx(d).epsilon(1e-10));
}

TEST_CASE("frechet distance: mismatched feature dimensions are an error") {
  const auto a = test::random_tensor<float>(shape_t{10, 4}, 41);
  const auto b = test::random_tensor<float>(shape_t{10, 5}, 42);
  CHECK_THROWS_WITH_AS(frechet_distance(a, b), doctest::Contains("feature dimensions differ"), error);
}
