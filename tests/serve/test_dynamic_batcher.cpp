// The dynamic batcher on its own: with no queue delay an unloaded caller runs its prediction itself, the
// number of predictions running at once never exceeds the workers, and what queues meanwhile is batched.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <numeric>
#include <set>
#include <thread>
#include <vector>

#include "patchzoo/serve/dynamic_batcher.hpp"
#include "serve/linear_executor.hpp"

using namespace patchzoo;
using namespace patchzoo::serve;

namespace {

// linear_executor's answers, plus the threads it ran on and the most predictions running at once.
class observed_executor final : public model_executor {
 public:
  explicit observed_executor(std::chrono::milliseconds delay) : inner_(test::test_zoo_profiles(), delay) {}
  const std::vector<psml::model_profile>& profiles() const override { return inner_.profiles(); }
  tensor<float> predict(std::size_t model, const tensor<float>& images) override {
    const int now = ++running_;
    int seen = most_;
    while (now > seen && !most_.compare_exchange_weak(seen, now)) {
    }
    {
      std::lock_guard lock(mutex_);
      threads_.insert(std::this_thread::get_id());
      batch_sizes_.push_back(images.dim(0));
    }
    tensor<float> out = inner_.predict(model, images);
    --running_;
    return out;
  }
  int most_at_once() const { return most_.load(); }
  std::set<std::thread::id> threads() const {
    std::lock_guard lock(mutex_);
    return threads_;
  }
  std::vector<std::int64_t> batch_sizes() const {
    std::lock_guard lock(mutex_);
    return batch_sizes_;
  }

 private:
  test::linear_executor inner_;
  std::atomic<int> running_{0}, most_{0};
  mutable std::mutex mutex_;
  std::set<std::thread::id> threads_;
  std::vector<std::int64_t> batch_sizes_;
};

tensor<float> one_image(int seed) {
  tensor<float> t({1, 1, 28, 28});
  for (std::int64_t i = 0; i < 784; ++i) t[i] = uniform01(static_cast<std::uint64_t>(seed), static_cast<std::uint64_t>(i));
  return t;
}

}  // namespace

TEST_CASE("dynamic_batcher: without a queue delay an unloaded caller runs its prediction on its own thread") {
  serving_metrics metrics;
  dynamic_batcher batcher({.workers = 1, .max_batch = 8, .max_queue_delay = std::chrono::microseconds(0)}, metrics);
  auto executor = std::make_shared<observed_executor>(std::chrono::milliseconds(0));
  const tensor<float> x = one_image(3);
  std::future<tensor<float>> answer = batcher.submit(executor, 2, x.clone());
  CHECK(answer.wait_for(std::chrono::seconds(0)) == std::future_status::ready);  // ran before submit returned
  const tensor<float> p = answer.get();
  CHECK(std::vector<float>(p.data(), p.data() + 10) == test::linear_executor::probabilities(2, x.data()));
  CHECK(executor->threads() == std::set<std::thread::id>{std::this_thread::get_id()});
}

TEST_CASE("dynamic_batcher: predictions at once never exceed the workers; requests queued meanwhile run batched") {
  serving_metrics metrics;
  dynamic_batcher batcher({.workers = 1, .max_batch = 8, .max_queue_delay = std::chrono::microseconds(0)}, metrics);
  auto executor = std::make_shared<observed_executor>(std::chrono::milliseconds(40));
  std::vector<std::future<tensor<float>>> answers;
  std::vector<tensor<float>> inputs;
  // The first caller runs inline for 40 ms; the 5 that arrive meanwhile must queue, not run beside it.
  std::thread first([&] { answers.push_back(batcher.submit(executor, 1, one_image(0))); });
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  for (int i = 1; i <= 5; ++i) inputs.push_back(one_image(i));
  std::vector<std::future<tensor<float>>> queued;
  for (const auto& x : inputs) queued.push_back(batcher.submit(executor, 1, x.clone()));
  first.join();
  for (std::size_t i = 0; i < queued.size(); ++i) {
    const tensor<float> p = queued[i].get();
    CHECK(std::vector<float>(p.data(), p.data() + 10) == test::linear_executor::probabilities(1, inputs[i].data()));
  }
  CHECK(executor->most_at_once() == 1);
  const std::vector<std::int64_t> sizes = executor->batch_sizes();
  CHECK(sizes.front() == 1);
  CHECK(sizes.size() < 6);  // the five queued requests shared predict calls
  CHECK(std::accumulate(sizes.begin(), sizes.end(), std::int64_t{0}) == 6);
}
