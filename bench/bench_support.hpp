#pragma once
// Helpers shared by the benchmark programs: deterministic inputs and the run context (threads, BLAS)
// printed in each program's header, so that a saved result says how it was produced.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstdint>
#include <string>

#include "patchzoo/core/rng.hpp"
#include "patchzoo/core/tensor.hpp"

#ifdef PATCHZOO_HAVE_BLAS
#include <cblas.h>
#endif

namespace patchzoo::bench {

// Values uniform in [-scale, scale) from a Philox stream: the same inputs on every run.
template <class T>
tensor<T> random_tensor(shape_t shape, std::uint64_t seed, T scale = T(1)) {
  tensor<T> t(shape);
  for (std::int64_t i = 0; i < t.numel(); ++i)
    t[i] = scale * (T(2) * static_cast<T>(uniform01(seed, static_cast<std::uint64_t>(i))) - T(1));
  return t;
}

inline void add_run_context() {
  benchmark::AddCustomContext("omp_max_threads", std::to_string(omp_get_max_threads()));
#ifdef PATCHZOO_HAVE_BLAS
  benchmark::AddCustomContext("openblas", openblas_get_config());
  benchmark::AddCustomContext("openblas_threads", std::to_string(openblas_get_num_threads()));
#else
  benchmark::AddCustomContext("openblas", "not linked (PATCHZOO_USE_BLAS=OFF or not found)");
#endif
}

}  // namespace patchzoo::bench
