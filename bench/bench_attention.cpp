// Range attention of the eigen backend on the reference model's shape: batch 8 x sequence 256 packed
// into 2048 tokens, 4 heads of 64, causal ranges from ops/attention_ranges.hpp. q, k and v are strided
// slices of one fused QKV buffer, as the transformer uses them. Reports tokens/s and the effective
// GFLOP/s of the score and value products (4 D flops per visible query-key pair forward, 10 D backward:
// the backward pass recomputes the scores, then forms dV, dP, dQ and dK). BM_decode_attention: one decode
// step's one-query attention over KV caches, by both of the eigen backend's kernels.
#include <cmath>
#include <vector>

#include "bench_support.hpp"
#include "patchzoo/backend/eigen/eigen_backend.hpp"
#include "patchzoo/ops/attention_ranges.hpp"

namespace {

using namespace patchzoo;

constexpr std::int64_t batch = 8, seq = 256, heads = 4, head_dim = 64, tokens = batch * seq;

// A fused [tokens, 3, heads, head_dim] buffer and its q, k, v slices (rows 3 * heads * head_dim apart).
struct fused_qkv {
  tensor<float> buffer;

  explicit fused_qkv(tensor<float> b) : buffer(std::move(b)) {}
  tensor_view<float> part(int which) {
    return {buffer.data() + which * heads * head_dim, shape_t{tokens, heads, head_dim},
            {3 * heads * head_dim, head_dim, 1, 0}};
  }
};

struct attention_problem {
  fused_qkv qkv{bench::random_tensor<float>(shape_t{tokens, 3 * heads * head_dim}, 11)};
  fused_qkv dqkv{tensor<float>(shape_t{tokens, 3 * heads * head_dim})};
  tensor<float> out{shape_t{tokens, heads, head_dim}};
  tensor<float> lse{shape_t{tokens, heads}};
  tensor<float> dout = bench::random_tensor<float>(shape_t{tokens, heads, head_dim}, 12);
  tensor<std::int32_t> ranges;
  float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));

  attention_problem() {
    std::vector<std::int32_t> offsets;
    for (std::int64_t s = 0; s <= batch; ++s) offsets.push_back(static_cast<std::int32_t>(s * seq));
    ranges = causal_ranges(offsets);
  }

  // Query-key pairs inside the ranges, summed over queries (not heads).
  double visible_pairs() const {
    double pairs = 0;
    for (std::int64_t i = 0; i < tokens; ++i) pairs += ranges[2 * i + 1] - ranges[2 * i];
    return pairs;
  }

  void forward(eigen_backend& be) {
    attention_forward(be, out.view(), lse.view(), cview<float>(qkv.part(0)), cview<float>(qkv.part(1)),
                      cview<float>(qkv.part(2)), ranges.cview(), scale);
  }
  void backward(eigen_backend& be) {
    attention_backward(be, dqkv.part(0), dqkv.part(1), dqkv.part(2), dout.cview(), cview<float>(qkv.part(0)),
                       cview<float>(qkv.part(1)), cview<float>(qkv.part(2)), out.cview(), lse.cview(),
                       ranges.cview(), scale);
  }
};

void set_counters(benchmark::State& state, const attention_problem& p, double flops_per_pair_dim) {
  state.counters["tokens/s"] =
      benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsIterationInvariantRate);
  const double flops = flops_per_pair_dim * static_cast<double>(head_dim * heads) * p.visible_pairs();
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_attention_forward_eigen(benchmark::State& state) {
  eigen_backend be;
  attention_problem p;
  for (auto _ : state) {
    p.forward(be);
    benchmark::ClobberMemory();
  }
  set_counters(state, p, 4.0);
}

// Gradients accumulate across iterations (as the op specifies); only the time matters here.
void BM_attention_backward_eigen(benchmark::State& state) {
  eigen_backend be;
  attention_problem p;
  p.forward(be);
  for (auto _ : state) {
    p.backward(be);
    benchmark::ClobberMemory();
  }
  set_counters(state, p, 10.0);
}

// One decode step's attention as the sampler runs it: one query per sequence against its own cache of
// `keys` positions, in 4 layers' caches (the demo's baseline: 2 heads of 64). 10 sequences' caches
// (10 MiB) stay in this VM's 32 MiB L3, 40 sequences' (40 MiB, batch 20 ungrouped) stream from DRAM.
// "loops" (the plain per-key loops, the anchor) against "vectors" (16 (key, head) dot products reduced
// together, the weighted values summed in registers).
void BM_decode_attention(benchmark::State& state) {
  constexpr std::int64_t layers = 4, slots = 256, dheads = 2;
  const bool vectors = state.range(0) == 1;
  const std::int64_t sequences = state.range(1), keys = state.range(2);
  std::vector<tensor<float>> k_caches, v_caches;
  for (std::int64_t l = 0; l < layers; ++l) {
    k_caches.push_back(bench::random_tensor<float>(shape_t{sequences * slots, dheads, head_dim}, 20 + l));
    v_caches.push_back(bench::random_tensor<float>(shape_t{sequences * slots, dheads, head_dim}, 40 + l));
  }
  const auto q = bench::random_tensor<float>(shape_t{sequences, dheads, head_dim}, 13);
  tensor<float> out(shape_t{sequences, dheads, head_dim}), lse(shape_t{sequences, dheads});
  std::vector<std::int32_t> ranges;
  for (std::int64_t s = 0; s < sequences; ++s) {
    ranges.push_back(static_cast<std::int32_t>(s * slots));
    ranges.push_back(static_cast<std::int32_t>(s * slots + keys));
  }
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  eigen_detail::attention_scratch<float> scratch;
  for (auto _ : state)
    for (std::int64_t l = 0; l < layers; ++l)
      for (std::int64_t s = 0; s < sequences; ++s) {
        const auto call = vectors ? eigen_detail::attention_query_vectors<head_dim / 16>
                                  : eigen_detail::attention_query_loops<float>;
        call(out.view(), lse.view(), q.cview(), k_caches[l].cview(), v_caches[l].cview(), ranges.data(), scale, s, 0,
             dheads, scratch);
      }
  const double bytes = 2.0 * static_cast<double>(layers * sequences * keys * dheads * head_dim) * sizeof(float);
  state.counters["cache GB/s"] = benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_decode_attention)
    ->ArgNames({"vectors", "sequences", "keys"})
    ->ArgsProduct({{0, 1}, {10, 40}, {128, 256}})
    ->Unit(benchmark::kMicrosecond)->UseRealTime();

BENCHMARK(BM_attention_forward_eigen)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_attention_backward_eigen)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) { return patchzoo::bench::run_benchmarks(argc, argv); }
