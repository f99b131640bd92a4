// The CPU backends' default OpenMP team: the idle cores of this process's CPU set, unless OMP_NUM_THREADS says.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "patchzoo/backend/cpu_threads.hpp"

using namespace patchzoo;

TEST_CASE("cpu threads: idle cores lie within this process's CPUs and drop while a thread of ours spins") {
  const auto quiet = idle_cores(std::chrono::milliseconds(100));
#if defined(__linux__)
  REQUIRE(quiet.has_value());
#endif
  if (!quiet) return;
  const double cores = omp_get_num_procs();
  CHECK(*quiet >= 0.0);
  CHECK(*quiet <= cores + 0.05);

  std::atomic<bool> stop{false};
  std::thread spinner([&] {
    while (!stop.load(std::memory_order_relaxed)) {
    }
  });
  const auto busy = idle_cores(std::chrono::milliseconds(300));
  stop = true;
  spinner.join();
  REQUIRE(busy.has_value());
  CHECK(*busy <= cores - 0.5);  // the spinner held about one core of the window
}

TEST_CASE("cpu threads: OMP_NUM_THREADS set by the user is kept") {
  const char* before = std::getenv("OMP_NUM_THREADS");
  const std::string saved = before ? before : "";
  setenv("OMP_NUM_THREADS", "1", 1);
  CHECK(threads_for_idle_cores() == omp_get_max_threads());
  if (before) {
    setenv("OMP_NUM_THREADS", saved.c_str(), 1);
  } else {
    unsetenv("OMP_NUM_THREADS");
  }
  const int chosen = threads_for_idle_cores();
  CHECK(chosen >= 1);
  CHECK(chosen <= omp_get_max_threads());
}
