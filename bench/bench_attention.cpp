// Range attention of the eigen backend on the reference model's shape: batch 8 x sequence 256 packed
// into 2048 tokens, 4 heads of 64, causal ranges from ops/attention_ranges.hpp. q, k and v are strided
// slices of one fused QKV buffer, as the transformer uses them. Reports tokens/s and the effective
// GFLOP/s of the score and value products (4 D flops per visible query-key pair forward, 10 D backward:
// the backward pass recomputes the scores, then forms dV, dP, dQ and dK).
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

BENCHMARK(BM_attention_forward_eigen)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_attention_backward_eigen)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) { return patchzoo::bench::run_benchmarks(argc, argv); }
