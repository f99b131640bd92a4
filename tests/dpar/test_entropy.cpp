// next_token_entropy: uniform -> ln V, one-hot-like -> 0, agreement with a plain fp64 -sum p ln p,
// logits and probabilities give the same H, and bad input is refused; entropies_by_predicted_token puts
// each prediction's H at the token it predicts.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "patchzoo/core/rng.hpp"
#include "patchzoo/dpar/entropy.hpp"

using namespace patchzoo;
using dpar::entropy_input;

namespace {

// A [rows, vocab] view of row-major scores.
template <class T>
const_view<T> matrix(const std::vector<T>& v, std::int64_t rows, std::int64_t vocab) {
  return {v.data(), shape_t{rows, vocab}};
}

}  // namespace

TEST_CASE("entropy: uniform logits give ln V (9.704 nats for V = 16384), whatever their value") {
  const std::int64_t vocab = 16384;
  std::vector<float> logits(2 * vocab, 0.0f);
  std::fill(logits.begin() + vocab, logits.end(), 37.5f);  // a constant shift changes nothing
  std::vector<float> h(2, -1.0f);
  dpar::next_token_entropy(matrix(logits, 2, vocab), h, entropy_input::logits);
  CHECK(h[0] == doctest::Approx(std::log(16384.0)).epsilon(1e-6));
  CHECK(h[1] == doctest::Approx(9.7040605).epsilon(1e-6));

  std::vector<double> probs(vocab, 1.0 / vocab);
  double hp = -1.0;
  dpar::next_token_entropy(matrix(probs, 1, vocab), std::span(&hp, 1), entropy_input::probabilities);
  CHECK(hp == doctest::Approx(std::log(16384.0)).epsilon(1e-12));
}

TEST_CASE("entropy: a one-hot-like row has entropy ~0; a large logit scale stays finite") {
  const std::int64_t vocab = 1000;
  std::vector<float> logits(vocab, 0.0f);
  logits[17] = 60.0f;  // p(others) ~ e^-60: H ~ 1e-23
  float h = -1.0f;
  dpar::next_token_entropy(matrix(logits, 1, vocab), std::span(&h, 1), entropy_input::logits);
  CHECK(h >= 0.0f);
  CHECK(h < 1e-6f);

  std::vector<float> probs(vocab, 0.0f);
  probs[3] = 1.0f;
  dpar::next_token_entropy(matrix(probs, 1, vocab), std::span(&h, 1), entropy_input::probabilities);
  CHECK(h == 0.0f);

  // Two equal winners at huge scale: exactly ln 2, no overflow.
  std::fill(logits.begin(), logits.end(), -1e30f);
  logits[1] = logits[2] = 1e30f;
  dpar::next_token_entropy(matrix(logits, 1, vocab), std::span(&h, 1), entropy_input::logits);
  CHECK(h == doctest::Approx(std::log(2.0)).epsilon(1e-6));
}

TEST_CASE("entropy: matches -sum p ln p computed in fp64 to 1e-5, from logits and from probabilities") {
  const std::int64_t rows = 6, vocab = 4096;
  std::vector<float> logits(rows * vocab);
  for (std::int64_t i = 0; i < rows * vocab; ++i)
    logits[i] =
        static_cast<float>((1.0 + static_cast<double>(i / vocab)) * normal01(5, static_cast<std::uint64_t>(i % vocab)));
  std::vector<float> h(rows);
  dpar::next_token_entropy(matrix(logits, rows, vocab), h, entropy_input::logits);
  std::vector<float> probs(rows * vocab);
  for (std::int64_t r = 0; r < rows; ++r) {
    double z = 0.0;
    for (std::int64_t c = 0; c < vocab; ++c) z += std::exp(static_cast<double>(logits[r * vocab + c]));
    double want = 0.0;
    for (std::int64_t c = 0; c < vocab; ++c) {
      const double p = std::exp(static_cast<double>(logits[r * vocab + c])) / z;
      probs[r * vocab + c] = static_cast<float>(p);
      want -= p * std::log(p);
    }
    INFO("row " << r);
    CHECK(std::abs(h[r] - want) < 1e-5);
    CHECK(want < std::log(4096.0));
  }
  std::vector<float> from_probs(rows);
  dpar::next_token_entropy(matrix(probs, rows, vocab), from_probs, entropy_input::probabilities);
  for (std::int64_t r = 0; r < rows; ++r) CHECK(std::abs(from_probs[r] - h[r]) < 1e-4);
  // The same logits at a larger scale are sharper: lower entropy.
  for (std::int64_t r = 1; r < rows; ++r) CHECK(h[r] < h[r - 1]);
}

TEST_CASE("entropy: bad input is refused with a clear error") {
  std::vector<float> v{0.5f, 0.5f, NAN};
  float h = 0.0f;
  const std::span<float> one(&h, 1);
  CHECK_THROWS_WITH_AS(dpar::next_token_entropy(matrix(v, 1, 3), one, entropy_input::logits),
                       doctest::Contains("next_token_entropy: row 0 class 2"), patchzoo::error);
  std::vector<float> p{0.5f, 0.2f};
  CHECK_THROWS_WITH_AS(dpar::next_token_entropy(matrix(p, 1, 2), one, entropy_input::probabilities),
                       doctest::Contains("sum to"), patchzoo::error);
  std::vector<float> neg{1.5f, -0.5f};
  CHECK_THROWS_AS(dpar::next_token_entropy(matrix(neg, 1, 2), one, entropy_input::probabilities), patchzoo::error);
  CHECK_THROWS_WITH_AS(dpar::next_token_entropy(matrix(p, 1, 0), one, entropy_input::logits),
                       doctest::Contains("vocab 0"), patchzoo::error);
  std::vector<float> two(2);
  CHECK_THROWS_WITH_AS(dpar::next_token_entropy(matrix(p, 1, 2), two, entropy_input::logits),
                       doctest::Contains("out holds 2 values for 1 rows"), patchzoo::error);
  CHECK_THROWS_WITH_AS(dpar::next_token_entropy(const_view<float>(p.data(), shape_t{2}), one, entropy_input::logits),
                       doctest::Contains("scores has rank 1"), patchzoo::error);
}

TEST_CASE("entropy: entropies_by_predicted_token puts row r's H at token r + first_predicted_token") {
  // Three predictions with distinct entropies: uniform over 4 (ln 4), over 2 (ln 2), one-hot-like (~0).
  const std::vector<float> logits{0, 0, 0, 0, 0, 0, -1e30f, -1e30f, 50, 0, 0, 0};
  std::vector<float> by_row(3);
  dpar::next_token_entropy(matrix(logits, 3, 4), by_row, entropy_input::logits);

  // The entropy model: row i reads x_i and predicts x_{i+1}, so H_0 is never predicted and stays 0.
  std::vector<float> h(4, -1.0f);
  dpar::entropies_by_predicted_token(matrix(logits, 3, 4), 1, h);
  CHECK(h == std::vector<float>{0.0f, by_row[0], by_row[1], by_row[2]});
  CHECK(h[1] == doctest::Approx(std::log(4.0)));
  CHECK(h[2] == doctest::Approx(std::log(2.0)));
  // A class-conditional model: row 0 (the class slot) predicts x_0.
  std::vector<float> conditional(3, -1.0f);
  dpar::entropies_by_predicted_token(matrix(logits, 3, 4), 0, conditional);
  CHECK(conditional == by_row);

  std::vector<float> short_by_one(3);
  CHECK_THROWS_WITH_AS(dpar::entropies_by_predicted_token(matrix(logits, 3, 4), 1, short_by_one),
                       doctest::Contains("by_token holds 3 values, but 3 predictions from token 1 need 4"),
                       patchzoo::error);
  CHECK_THROWS_AS(dpar::entropies_by_predicted_token(matrix(logits, 3, 4), -1, by_row), patchzoo::error);
}
