#pragma once
// Helpers shared by the benchmark programs: deterministic inputs and the run context (threads, BLAS)
// printed in each program's header, so that a saved result says how it was produced.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <tuple>

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

// FLOP/s of matmul(c[m, n] = a[m, k] b[n, k]^T) on backend B, host memory, measured once per shape in
// this process (about 0.3 s): the "roofline" a sampler or training step is set against, taken in the
// same run so that load and clock affect both alike.
template <class B>
double gemm_rate(std::int64_t m, std::int64_t n, std::int64_t k) {
  static std::map<std::tuple<std::int64_t, std::int64_t, std::int64_t>, double> measured;
  const auto key = std::make_tuple(m, n, k);
  if (const auto it = measured.find(key); it != measured.end()) return it->second;
  B be;
  const auto a = random_tensor<float>(shape_t{m, k}, 11), b = random_tensor<float>(shape_t{n, k}, 12);
  tensor<float> c(shape_t{m, n});
  const auto run = [&] { matmul(be, c.view(), a.cview(), b.cview(), false, true, 1.0f, 0.0f); };
  for (int i = 0; i < 3; ++i) run();
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  std::int64_t calls = 0;
  double seconds = 0.0;
  while (seconds < 0.3) {
    run();
    ++calls;
    seconds = std::chrono::duration<double>(clock::now() - start).count();
  }
  return measured[key] = 2.0 * static_cast<double>(m * n * k) * static_cast<double>(calls) / seconds;
}

// Counters for a benchmark iteration doing `flops`: GFLOP/s, and the share of the GEMM rate at
// (m, n, k) it reaches (1 = every FLOP at the speed of that GEMM).
template <class B>
void add_roofline_counters(benchmark::State& state, double flops, std::int64_t m, std::int64_t n, std::int64_t k) {
  state.counters["GFLOP/s"] = benchmark::Counter(flops / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["of_gemm_rate"] = benchmark::Counter(flops / gemm_rate<B>(m, n, k), benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel("GEMM rate " + std::to_string(static_cast<int>(gemm_rate<B>(m, n, k) / 1e9)) + " GFLOP/s at " +
                 std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k));
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

// The main() of every benchmark program: flags (unknown ones are an error), the run context, then the
// benchmarks registered statically and those `add` registers at run time.
inline int run_benchmarks(int argc, char** argv, const std::function<void()>& add = {}) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  add_run_context();
  if (add) add();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace patchzoo::bench
