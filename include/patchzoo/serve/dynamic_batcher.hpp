#pragma once
// Dynamic batching: requests routed to the same model wait at most max_queue_delay for company, then
// up to max_batch images of them run as one predict call on a worker thread. A queue that fills up
// runs at once. Workers wait on a condition variable with a deadline, never spin. Each worker runs its
// predictions on one thread (OpenMP and OpenMP BLAS teams of 1): requests already run side by side on the
// workers, and a thread team per small predict cost more than the predict (9% of a loaded server's CPU).
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "patchzoo/core/error.hpp"
#include "patchzoo/core/tensor.hpp"
#include "patchzoo/serve/model_executor.hpp"
#include "patchzoo/serve/serving_metrics.hpp"

namespace patchzoo::serve {

struct batching_config {
  int workers = 2;
  std::int64_t max_batch = 32;  // images per predict call; a larger single request runs alone
  // 0 (Triton's default): a batch forms only from what queued while the workers were busy.
  std::chrono::microseconds max_queue_delay{0};
};

class dynamic_batcher {
 public:
  using clock = std::chrono::steady_clock;

  dynamic_batcher(batching_config config, serving_metrics& metrics) : config_(config), metrics_(metrics) {
    check(config_.workers >= 1, "dynamic_batcher", "workers must be >= 1, got ", config_.workers);
    check(config_.max_batch >= 1, "dynamic_batcher", "max_batch must be >= 1, got ", config_.max_batch);
    check(config_.max_queue_delay.count() >= 0, "dynamic_batcher", "max_queue_delay must be >= 0");
    for (int w = 0; w < config_.workers; ++w)
      workers_.emplace_back([this] {
        omp_set_num_threads(1);
        work();
      });
  }
  ~dynamic_batcher() { stop(); }
  dynamic_batcher(const dynamic_batcher&) = delete;
  dynamic_batcher& operator=(const dynamic_batcher&) = delete;

  // images [B, ...] -> a future of the probabilities [B, 10] from `model_index` of `executor`. When a share
  // is free (try_reserve_share) the caller runs the prediction itself and gets a ready future: an unloaded
  // server pays no hand-over to a worker thread and back.
  std::future<tensor<float>> submit(std::shared_ptr<model_executor> executor, std::size_t model_index,
                                    tensor<float> images) {
    if (try_reserve_share()) {
      const share_guard share(*this);
      return run_inline(*executor, model_index, std::move(images));
    }
    job j{std::move(images), {}, clock::now()};
    std::future<tensor<float>> result = j.result.get_future();
    {
      std::lock_guard lock(mutex_);
      check(!stopping_, "dynamic_batcher", "the server is shutting down");
      queue& q = queues_[{executor.get(), model_index}];
      if (!q.executor) q.executor = std::move(executor);
      q.images += j.images.dim(0);
      q.jobs.push_back(std::move(j));
    }
    wake_.notify_all();
    return result;
  }

  // Takes a worker's share for the caller, never waiting: only with no queue delay (a positive one asks
  // every request to wait for company), nothing queued and fewer than `workers` predictions running.
  bool try_reserve_share() {
    std::lock_guard lock(mutex_);
    if (config_.max_queue_delay.count() > 0 || stopping_ || !queues_.empty() || running_ >= config_.workers) return false;
    ++running_;
    return true;
  }

  // Gives a reserved share back when it goes out of scope.
  class share_guard {
   public:
    explicit share_guard(dynamic_batcher& b) : batcher_(b) {}
    ~share_guard() {
      bool queued = false;
      {
        std::lock_guard lock(batcher_.mutex_);
        --batcher_.running_;
        queued = !batcher_.queues_.empty();
      }
      // A worker waits for this share only when something is queued; waking the idle ones for nothing
      // was two context switches per request on the fast path.
      if (queued) batcher_.wake_.notify_all();
    }
    share_guard(const share_guard&) = delete;
    share_guard& operator=(const share_guard&) = delete;

   private:
    dynamic_batcher& batcher_;
  };

  // Runs one prediction on the caller's thread under a reserved share; the future is ready on return.
  std::future<tensor<float>> run_inline(model_executor& executor, std::size_t model_index, tensor<float> images) {
    omp_set_num_threads(1);
    std::vector<job> alone;
    alone.push_back(job{std::move(images), {}, clock::now()});
    std::future<tensor<float>> result = alone.front().result.get_future();
    run(executor, model_index, alone);
    return result;
  }

  // Runs what is queued, then joins the workers. Safe to call twice.
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : workers_)
      if (t.joinable()) t.join();
  }

 private:
  struct job {
    tensor<float> images;
    std::promise<tensor<float>> result;
    clock::time_point enqueued;
  };
  struct queue {
    std::shared_ptr<model_executor> executor;
    std::deque<job> jobs;
    std::int64_t images = 0;
  };
  using queue_key = std::pair<const model_executor*, std::size_t>;

  void work() {
    std::unique_lock lock(mutex_);
    while (true) {
      // The ready queue whose oldest request waited longest; otherwise sleep until the first deadline.
      auto ready = queues_.end();
      clock::time_point first_deadline = clock::time_point::max();
      const clock::time_point now = clock::now();
      for (auto it = queues_.begin(); it != queues_.end(); ++it) {
        const clock::time_point deadline = it->second.jobs.front().enqueued + config_.max_queue_delay;
        const bool is_ready = stopping_ || it->second.images >= config_.max_batch || deadline <= now;
        if (is_ready && (ready == queues_.end() || it->second.jobs.front().enqueued < ready->second.jobs.front().enqueued))
          ready = it;
        first_deadline = std::min(first_deadline, deadline);
      }
      if (ready != queues_.end() && running_ >= config_.workers) {
        wake_.wait(lock);  // callers running inline hold every share: the last to finish wakes us
        continue;
      }
      if (ready == queues_.end()) {
        if (stopping_) return;
        if (first_deadline == clock::time_point::max()) wake_.wait(lock);
        else wake_.wait_until(lock, first_deadline);
        continue;
      }
      std::vector<job> batch = take_batch(ready->second);
      std::shared_ptr<model_executor> executor = ready->second.executor;
      const std::size_t model_index = ready->first.second;
      if (ready->second.jobs.empty()) queues_.erase(ready);
      ++running_;
      lock.unlock();
      run(*executor, model_index, batch);
      lock.lock();
      --running_;
    }
  }

  std::vector<job> take_batch(queue& q) {
    std::vector<job> batch;
    std::int64_t images = 0;
    while (!q.jobs.empty() && (batch.empty() || images + q.jobs.front().images.dim(0) <= config_.max_batch)) {
      images += q.jobs.front().images.dim(0);
      batch.push_back(std::move(q.jobs.front()));
      q.jobs.pop_front();
    }
    q.images -= images;
    return batch;
  }

  void run(model_executor& executor, std::size_t model_index, std::vector<job>& batch) {
    std::vector<tensor<float>> parts;
    try {
      std::int64_t total = 0;
      for (const job& j : batch) total += j.images.dim(0);
      shape_t batch_shape = batch.front().images.shape();  // every request was validated to one image shape
      batch_shape[0] = total;
      tensor<float> images(batch_shape);
      std::int64_t offset = 0;
      for (const job& j : batch) {
        std::copy(j.images.data(), j.images.data() + j.images.numel(), images.data() + offset);
        offset += j.images.numel();
      }
      const tensor<float> probabilities = executor.predict(model_index, images);
      check(probabilities.rank() == 2 && probabilities.dim(0) == total, "dynamic_batcher", "model ", model_index,
            " returned shape ", probabilities.shape().str(), " for a batch of ", total);
      metrics_.record_batch(executor.profiles().at(model_index).id, total);
      const std::int64_t classes = probabilities.dim(1);
      std::int64_t row = 0;
      for (const job& j : batch) {
        tensor<float> part({j.images.dim(0), classes});
        std::copy(probabilities.data() + row * classes, probabilities.data() + (row + j.images.dim(0)) * classes, part.data());
        row += j.images.dim(0);
        parts.push_back(std::move(part));
      }
    } catch (...) {
      for (job& j : batch) j.result.set_exception(std::current_exception());
      return;
    }
    for (std::size_t k = 0; k < batch.size(); ++k) batch[k].result.set_value(std::move(parts[k]));
  }

  batching_config config_;
  serving_metrics& metrics_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::map<queue_key, queue> queues_;
  bool stopping_ = false;
  int running_ = 0;  // predictions running now, on workers or on callers; at most config_.workers
  std::vector<std::thread> workers_;
};

}  // namespace patchzoo::serve
