#pragma once
// Serving latency of one classifier: the full predict path (fresh activations, forward, softmax) on a
// single image, single-threaded, timed over many runs after a warm-up.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <vector>

#include "patchzoo/zoo/training.hpp"

namespace patchzoo::zoo {

struct latency_stats {
  double p50_ms = 0, p99_ms = 0;
};

// The q-quantile (q in [0, 1]) of the samples, nearest rank.
inline double quantile(std::vector<double> samples, double q) {
  check(!samples.empty(), "quantile", "no samples");
  std::sort(samples.begin(), samples.end());
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(samples.size())));
  return samples[std::clamp<std::size_t>(rank, 1, samples.size()) - 1];
}

namespace latency_detail {

// Sets the calling thread's OpenMP team size and restores the previous one when the scope ends, an
// exception included, so timing one request leaves the caller's thread count as it was.
class omp_threads_scope {
 public:
  explicit omp_threads_scope(int threads) : previous_(omp_get_max_threads()) { omp_set_num_threads(threads); }
  ~omp_threads_scope() { omp_set_num_threads(previous_); }
  omp_threads_scope(const omp_threads_scope&) = delete;
  omp_threads_scope& operator=(const omp_threads_scope&) = delete;

 private:
  int previous_;
};

}  // namespace latency_detail

template <backend B, real T>
latency_stats measure_latency(B& be, const classifier<B, T>& model, const tensor<T>& image, int runs = 200,
                              int warmup = 20) {
  check(image.rank() == 4 && image.dim(0) == 1, "measure_latency", "expected one image [1, 1, 28, 28], got ",
        image.shape().str());
  const latency_detail::omp_threads_scope one_thread(1);
  std::vector<double> ms;
  for (int i = 0; i < warmup + runs; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const auto probs = predict_probabilities(be, model, image);
    be.synchronize();
    const auto end = std::chrono::steady_clock::now();
    if (i >= warmup) ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
  }
  return {quantile(ms, 0.5), quantile(ms, 0.99)};
}

}  // namespace patchzoo::zoo
