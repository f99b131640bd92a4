// GEMM throughput of the eigen backend's matmul on the transformer's shapes (M = B*T = 2048), against
// the named anchor cblas_sgemm (OpenBLAS) on the same shapes in the same run. Each anchor runs just
// before our benchmark of the same shape; ours then reports vs_openblas = our GFLOP/s / OpenBLAS's.
// vs_openblas divides by the median of the anchor's repetitions. Target: vs_openblas >= 0.85. The
// xtensor reference (a triple loop) runs on one small shape only, beside eigen on the same shape. The
// decode_projections pairs measure one KV-cached decode step's projections both ways, with the weights
// warm in L3 and (decode_projections_cold) fetched from DRAM (see below).
#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "bench_support.hpp"
#include "patchzoo/backend/eigen/eigen_backend.hpp"
#include "patchzoo/backend/xtensor/xtensor_backend.hpp"

namespace {

using namespace patchzoo;

// C[M,N] = op(A) op(B) with op(A) M x K and op(B) K x N.
struct gemm_shape {
  std::string role;
  std::int64_t m, k, n;
  bool trans_a, trans_b;

  std::string name() const {
    return role + "_" + std::to_string(m) + "x" + std::to_string(k) + "x" + std::to_string(n) +
           (trans_a ? "_tA" : "") + (trans_b ? "_tB" : "");
  }
  double flops() const { return 2.0 * static_cast<double>(m) * static_cast<double>(k) * static_cast<double>(n); }
  shape_t a_shape() const { return trans_a ? shape_t{k, m} : shape_t{m, k}; }
  shape_t b_shape() const { return trans_b ? shape_t{n, k} : shape_t{k, n}; }
};

const std::vector<gemm_shape> transformer_shapes = {
    {"qkv", 2048, 256, 768, false, false},
    {"mlp_up", 2048, 256, 1024, false, false},
    {"mlp_down", 2048, 1024, 256, false, false},
    {"lm_head", 2048, 256, 1024, false, true},     // logits = x W^T with W [V, d]
    {"dweight_qkv", 256, 2048, 768, true, false},  // backward: dW = X^T dY
};
const gemm_shape reference_shape{"small", 128, 64, 128, false, false};

// Anchor GFLOP/s per shape name, kept from the calls with the most iterations: Google Benchmark first
// calls a benchmark with few iterations to size the run, and those short calls are noisy.
struct anchor_runs {
  benchmark::IterationCount iterations = 0;
  std::vector<double> rates;

  void record(benchmark::IterationCount n, double rate) {
    if (n > iterations) {
      iterations = n;
      rates.clear();
    }
    if (n == iterations) rates.push_back(rate);
  }
  double median() const {
    std::vector<double> r = rates;
    std::sort(r.begin(), r.end());
    const std::size_t h = r.size() / 2;
    return r.size() % 2 ? r[h] : 0.5 * (r[h - 1] + r[h]);
  }
};
std::map<std::string, anchor_runs>& anchors() {
  static std::map<std::string, anchor_runs> runs;
  return runs;
}

// Runs the state loop, sets the GFLOP/s counter and returns the wall-clock rate of this run.
template <class Gemm>
double run_gemm_loop(benchmark::State& state, const gemm_shape& s, Gemm&& gemm) {
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    gemm();
    benchmark::ClobberMemory();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  state.counters["GFLOP/s"] = benchmark::Counter(s.flops() * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  return s.flops() * 1e-9 * static_cast<double>(state.iterations()) / seconds;
}

template <class Backend>
void bm_matmul(benchmark::State& state, const gemm_shape& s) {
  Backend be;
  const auto a = bench::random_tensor<float>(s.a_shape(), 1);
  const auto b = bench::random_tensor<float>(s.b_shape(), 2);
  tensor<float> c(shape_t{s.m, s.n});
  const double rate =
      run_gemm_loop(state, s, [&] { matmul(be, c.view(), a.cview(), b.cview(), s.trans_a, s.trans_b); });
  const auto anchor = anchors().find(s.name());
  if (anchor != anchors().end()) {
    const double ratio = rate / anchor->second.median();
    state.counters["vs_openblas"] = ratio;
    state.SetLabel(std::to_string(static_cast<int>(100.0 * ratio + 0.5)) + "% of OpenBLAS sgemm");
  }
}

#ifdef PATCHZOO_HAVE_BLAS
void bm_cblas_sgemm(benchmark::State& state, const gemm_shape& s) {
  const auto a = bench::random_tensor<float>(s.a_shape(), 1);
  const auto b = bench::random_tensor<float>(s.b_shape(), 2);
  tensor<float> c(shape_t{s.m, s.n});
  const int lda = static_cast<int>(s.trans_a ? s.m : s.k), ldb = static_cast<int>(s.trans_b ? s.k : s.n);
  const double rate = run_gemm_loop(state, s, [&] {
    cblas_sgemm(CblasRowMajor, s.trans_a ? CblasTrans : CblasNoTrans, s.trans_b ? CblasTrans : CblasNoTrans,
                static_cast<int>(s.m), static_cast<int>(s.n), static_cast<int>(s.k), 1.0f, a.data(), lda, b.data(),
                ldb, 0.0f, c.data(), static_cast<int>(s.n));
  });
  anchors()[s.name()].record(state.iterations(), rate);
  state.SetLabel("anchor");
}
#endif

// One KV-cached decode step's projections for `rows` sequences of the demo's LlamaGen baseline (4 blocks of
// width 128, SwiGLU 512, vocabulary 512: 21 distinct weights, 4.7 MB, more than L2 holds): x W^T with the
// weights as stored (sgemm, or the row-dot path up to 8 rows), the anchor, then x W through transposed
// copies (the broadcast path), as lockstep decoding runs them. vs_stored = transposed / stored GFLOP/s.
struct decode_weights {
  std::vector<tensor<float>> stored, transposed;
  double flops_per_row = 0;

  decode_weights() {
    const std::int64_t d = 128, ffn = 512, vocab = 512;
    std::vector<std::pair<std::int64_t, std::int64_t>> shapes;  // [out, in]
    for (int block = 0; block < 4; ++block)
      for (const auto& s : {std::pair{3 * d, d}, {d, d}, {ffn, d}, {ffn, d}, {d, ffn}}) shapes.push_back(s);
    shapes.emplace_back(vocab, d);
    eigen_backend be;
    for (const auto& [out, in] : shapes) {
      stored.push_back(bench::random_tensor<float>(shape_t{out, in}, 10 + stored.size()));
      transposed.emplace_back(shape_t{in, out});
      transpose_last2(be, transposed.back().view().reshape(shape_t{1, in, out}),
                      stored.back().cview().reshape(shape_t{1, out, in}), false);
      flops_per_row += 2.0 * static_cast<double>(out * in);
    }
  }
};

// cold: the last-level cache is overwritten (64 MB) before each step, untimed, as when weights come from DRAM.
void bm_decode_projections(benchmark::State& state, bool through_transposed, bool cold) {
  static const decode_weights w;
  static std::vector<char> evict(std::size_t{64} << 20);
  eigen_backend be;
  const std::int64_t rows = state.range(0);
  const auto x = bench::random_tensor<float>(shape_t{rows, 512}, 3);
  tensor<float> y(shape_t{rows, 512});
  double seconds = 0;
  for (auto _ : state) {
    if (cold) {
      state.PauseTiming();
      for (std::size_t i = 0; i < evict.size(); i += 64) ++evict[i];
      benchmark::ClobberMemory();
      state.ResumeTiming();
    }
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < w.stored.size(); ++i) {
      const auto& weight = through_transposed ? w.transposed[i] : w.stored[i];
      const std::int64_t in = through_transposed ? weight.dim(0) : weight.dim(1);
      const std::int64_t out = through_transposed ? weight.dim(1) : weight.dim(0);
      matmul(be, tensor_view<float>(y.data(), shape_t{rows, out}), const_view<float>(x.data(), shape_t{rows, in}),
             weight.cview(), false, !through_transposed);
    }
    benchmark::ClobberMemory();
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  const double flops = w.flops_per_row * static_cast<double>(rows);
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  const double rate = flops * 1e-9 * static_cast<double>(state.iterations()) / seconds;
  auto& anchor = anchors()[std::string(cold ? "cold" : "warm") + "_decode_projections/" + std::to_string(rows)];
  if (!through_transposed) {
    anchor.record(state.iterations(), rate);
    state.SetLabel("anchor: x W^T, weights as stored");
  } else if (!anchor.rates.empty()) {
    state.counters["vs_stored"] = rate / anchor.median();
    state.SetLabel("x W through transposed copies");
  }
}

void register_benchmarks() {
  // Warm: the decode shapes up to batch 64; cold: the few-row end, fixed 200 steps (each evicts 64 MB).
  for (const bool cold : {false, true})
    for (const bool transposed : {false, true}) {
      const std::string name = std::string(cold ? "decode_projections_cold/" : "decode_projections/") +
                               (transposed ? "transposed" : "stored");
      auto* b = benchmark::RegisterBenchmark(name.c_str(), bm_decode_projections, transposed, cold);
      b->ArgName("rows")->UseRealTime();
      const std::vector<int> rows = cold ? std::vector<int>{2, 4, 8, 20} : std::vector<int>{2, 4, 8, 10, 20, 40, 64, 128};
      for (const int r : rows) b->Arg(r);
      if (cold) b->Iterations(200);
    }
  for (const auto& s : transformer_shapes) {
#ifdef PATCHZOO_HAVE_BLAS
    benchmark::RegisterBenchmark(("gemm/" + s.name() + "/openblas").c_str(), bm_cblas_sgemm, s)->UseRealTime();
#endif
    benchmark::RegisterBenchmark(("gemm/" + s.name() + "/eigen").c_str(), bm_matmul<eigen_backend>, s)
        ->UseRealTime();
  }
  const auto& r = reference_shape;
  benchmark::RegisterBenchmark(("gemm/" + r.name() + "/xtensor").c_str(), bm_matmul<xtensor_backend>, r)
      ->UseRealTime();
  benchmark::RegisterBenchmark(("gemm/" + r.name() + "/eigen").c_str(), bm_matmul<eigen_backend>, r)->UseRealTime();
}

}  // namespace

int main(int argc, char** argv) { return bench::run_benchmarks(argc, argv, register_benchmarks); }
