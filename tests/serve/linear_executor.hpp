#pragma once
// A small real model_executor for server tests: deterministic linear softmax classifiers over 784
// pixels, hand-set profiles, and counters of predict calls and rows per model (to observe batching).
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

#include "patchzoo/core/error.hpp"
#include "patchzoo/core/rng.hpp"
#include "patchzoo/serve/model_executor.hpp"

namespace patchzoo::test {

class linear_executor final : public serve::model_executor {
 public:
  explicit linear_executor(std::vector<psml::model_profile> profiles, std::chrono::milliseconds predict_delay = {})
      : profiles_(std::move(profiles)), delay_(predict_delay),
        calls_(std::make_unique<std::atomic<int>[]>(profiles_.size())),
        rows_(std::make_unique<std::atomic<int>[]>(profiles_.size())) {}

  const std::vector<psml::model_profile>& profiles() const override { return profiles_; }

  tensor<float> predict(std::size_t model, const tensor<float>& images) override {
    check(model < profiles_.size(), "linear_executor", "no model ", model);
    check(images.rank() == 4 && images.dim(1) == 1 && images.dim(2) == 28 && images.dim(3) == 28, "linear_executor",
          "images must be [B, 1, 28, 28], got ", images.shape().str());
    ++calls_[model];
    rows_[model] += static_cast<int>(images.dim(0));
    if (delay_.count() > 0) std::this_thread::sleep_for(delay_);
    tensor<float> out({images.dim(0), 10});
    for (std::int64_t b = 0; b < images.dim(0); ++b) {
      const std::vector<float> p = probabilities(model, images.data() + b * 784);
      std::copy(p.begin(), p.end(), out.data() + b * 10);
    }
    return out;
  }

  // The reference answer for one image, computed exactly as predict does.
  static std::vector<float> probabilities(std::size_t model, const float* image) {
    std::vector<float> logits(10);
    for (int c = 0; c < 10; ++c) {
      float z = 0.1f * static_cast<float>(c) - 0.4f;
      for (int p = 0; p < 784; ++p) z += image[p] * (uniform01(1000 + model, static_cast<std::uint64_t>(c * 784 + p)) - 0.5f);
      logits[c] = z;
    }
    float max = logits[0];
    for (float z : logits) max = std::max(max, z);
    float sum = 0.0f;
    for (float& z : logits) sum += (z = std::exp(z - max));
    for (float& z : logits) z /= sum;
    return logits;
  }

  int calls(std::size_t model) const { return calls_[model].load(); }
  int rows(std::size_t model) const { return rows_[model].load(); }

 private:
  std::vector<psml::model_profile> profiles_;
  std::chrono::milliseconds delay_;
  std::unique_ptr<std::atomic<int>[]> calls_;
  std::unique_ptr<std::atomic<int>[]> rows_;
};

// fast < mid < best on the front; 'dominated' is slower and less accurate than all of them.
inline std::vector<psml::model_profile> test_zoo_profiles() {
  return {{"zk-fast-3a1", "tinylin-fast", 0.80, 1.0, 1.5, 7850, 15680},
          {"zk-mid-7b2", "tinylin-mid", 0.86, 2.0, 2.5, 7850, 15680},
          {"zk-best-9c3", "tinylin-best", 0.91, 4.0, 5.0, 7850, 15680},
          {"zk-dom-4d4", "tinylin-dominated", 0.79, 5.0, 6.0, 7850, 15680}};
}

}  // namespace patchzoo::test
