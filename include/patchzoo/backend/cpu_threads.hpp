#pragma once
// How many OpenMP threads the CPU backends should use on a machine other processes share. libgomp's
// default team is one thread per core and its threads spin at barriers, so with a core taken by another
// process each barrier waits out that process's time slice: a run gets 3x slower than on the quiet machine
// and 1.7x slower than one thread (docs/performance.md, "OpenMP threads when another process holds a core").
// A team no larger than the idle cores keeps the default fast when quiet and avoids that cliff.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#if defined(__linux__)
#include <sched.h>
#endif

namespace patchzoo {

namespace cpu_threads_detail {

struct cpu_times {
  double idle = 0, total = 0;
};

// The summed jiffies of the CPUs this process may run on, from /proc/stat; nullopt where there is none.
inline std::optional<cpu_times> read_cpu_times() {
#if defined(__linux__)
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) return std::nullopt;
  std::ifstream stat("/proc/stat");
  if (!stat) return std::nullopt;
  cpu_times sum;
  bool any = false;
  for (std::string line; std::getline(stat, line);) {
    // Per-CPU lines read "cpuN user nice system idle iowait irq softirq steal ..."; "cpu " is the total.
    if (!line.starts_with("cpu") || line.size() < 4 || line[3] == ' ') continue;
    std::istringstream fields(line.substr(3));
    int cpu = -1;
    fields >> cpu;
    if (cpu < 0 || cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &allowed)) continue;
    double value = 0, total = 0, idle = 0;
    for (int column = 0; column < 8 && fields >> value; ++column) {
      total += value;
      if (column == 3 || column == 4) idle += value;  // idle and iowait
    }
    sum.idle += idle;
    sum.total += total;
    any = true;
  }
  if (!any) return std::nullopt;
  return sum;
#else
  return std::nullopt;
#endif
}

}  // namespace cpu_threads_detail

// The cores of this process's CPU set that were idle over `window`, in cores (e.g. 1.0 of 2); nullopt
// where the system does not say (not Linux, no /proc).
inline std::optional<double> idle_cores(std::chrono::milliseconds window = std::chrono::milliseconds(60)) {
  const auto before = cpu_threads_detail::read_cpu_times();
  if (!before) return std::nullopt;
  std::this_thread::sleep_for(window);
  const auto after = cpu_threads_detail::read_cpu_times();
  if (!after || after->total <= before->total) return std::nullopt;
  const double idle_share = (after->idle - before->idle) / (after->total - before->total);
  return idle_share * omp_get_num_procs();
}

// The OpenMP team for the CPU backends: OMP_NUM_THREADS when the user set it, else the idle cores (at
// least 1, at most OpenMP's default), else OpenMP's default.
inline int threads_for_idle_cores() {
  const int available = omp_get_max_threads();
  if (std::getenv("OMP_NUM_THREADS") != nullptr) return available;
  const auto idle = idle_cores();
  if (!idle) return available;
  return std::clamp(static_cast<int>(std::lround(*idle)), 1, available);
}

// Sets the OpenMP team to threads_for_idle_cores() and returns it. Programs call it once at start (the
// `patchzoo` CLI does); the load is sampled then, not followed afterwards.
inline int use_idle_cores() {
  const int threads = threads_for_idle_cores();
  omp_set_num_threads(threads);
  return threads;
}

}  // namespace patchzoo
