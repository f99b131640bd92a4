// measure_latency times on one thread and leaves the caller's OpenMP thread count as it found it.
#include <doctest/doctest.h>

#include <omp.h>

#include "patchzoo/backend/eigen/eigen_backend.hpp"
#include "patchzoo/zoo/latency.hpp"
#include "patchzoo/zoo/make_classifier.hpp"
#include "patchzoo/zoo/zoo_spec.hpp"

using namespace patchzoo;
using namespace patchzoo::zoo;

TEST_CASE("zoo latency: quantiles, and the OpenMP thread count restored after a run and after a throw") {
  CHECK(quantile({3, 1, 2, 4}, 0.5) == 2);
  CHECK(quantile({3, 1, 2, 4}, 0.99) == 4);
  eigen_backend be;
  auto model = make_classifier<eigen_backend, float>(mlp({}), 1);
  const int before = omp_get_max_threads();
  omp_set_num_threads(3);
  const auto lat = measure_latency(be, *model, tensor<float>(shape_t{1, 1, 28, 28}), 4, 1);
  CHECK(lat.p50_ms <= lat.p99_ms);
  CHECK(omp_get_max_threads() == 3);
  // The shape passes measure_latency's own check and fails in forward, inside the one-thread scope.
  CHECK_THROWS_AS(measure_latency(be, *model, tensor<float>(shape_t{1, 1, 14, 14}), 4, 1), error);
  CHECK(omp_get_max_threads() == 3);
  omp_set_num_threads(before);
}
