#pragma once
// Kill tests of the trainers' checkpoints. The test binary runs itself again as a child (fork, then
// exec of /proc/self/exe: the child starts without the parent's OpenMP threads) that runs one test
// case, which trains a tiny model in the directory named by PATCHZOO_KILL_TEST_DIR, on one OpenMP
// thread so that its arithmetic repeats exactly. The parent SIGKILLs such children after seeded random
// delays, checks what each kill left on disk, lets a last child finish, and compares its checkpoint
// with that of a run that was never killed.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "patchzoo/core/rng.hpp"
#include "patchzoo/io/safetensors.hpp"

extern char** environ;

namespace patchzoo::test {

inline constexpr const char* kill_child_variable = "PATCHZOO_KILL_TEST_DIR";

// The directory a child test case trains in; empty when this process is not a kill-test child,
// and the child test case then does nothing.
inline std::filesystem::path kill_child_dir() {
  const char* dir = std::getenv(kill_child_variable);
  return dir ? dir : "";
}

// Starts this binary running only `test_case`, training in `dir`, its output going to `log`.
inline ::pid_t start_child(const std::string& test_case, const std::filesystem::path& dir,
                           const std::filesystem::path& log) {
  // Everything is built before fork, so that the child only calls what is safe between fork and exec.
  std::vector<std::string> strings{"/proc/self/exe", "--test-case=" + test_case};
  const std::size_t argc = strings.size();
  for (char** e = environ; *e; ++e) {
    const std::string var = *e;
    if (var.rfind("OMP_NUM_THREADS=", 0) != 0 && var.rfind(std::string(kill_child_variable) + "=", 0) != 0)
      strings.push_back(var);
  }
  strings.push_back("OMP_NUM_THREADS=1");
  strings.push_back(std::string(kill_child_variable) + "=" + dir.string());
  std::vector<char*> argv, envp;
  for (std::size_t i = 0; i < strings.size(); ++i) (i < argc ? argv : envp).push_back(strings[i].data());
  argv.push_back(nullptr);
  envp.push_back(nullptr);
  const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  REQUIRE(out >= 0);
  const ::pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out, 1);
    ::dup2(out, 2);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(out);
  REQUIRE(pid > 0);
  return pid;
}

// Waits for the child: its exit code, or minus the signal that ended it.
inline int wait_child(::pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) REQUIRE(errno == EINTR);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

// Runs `test_case` to its end in `dir`; returns how long that took.
inline std::chrono::microseconds run_child(const std::string& test_case, const std::filesystem::path& dir,
                                           const std::filesystem::path& log) {
  const auto start = std::chrono::steady_clock::now();
  const int rc = wait_child(start_child(test_case, dir, log));
  INFO("child log ", log.string());
  REQUIRE(rc == 0);
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
}

// Starts `test_case` in `dir` `kills` times, each SIGKILLed after a delay drawn uniformly from
// [0, 2 run_time / kills) by a stream seeded with `seed`, so that on average the kills spread over one
// uninterrupted run of `run_time`; after_kill() checks the directory after each kill. A kill may come
// after the child has finished: then the run is simply complete. Returns how many kills hit a running child.
inline int kill_repeatedly(const std::string& test_case, const std::filesystem::path& dir,
                           const std::filesystem::path& log, std::uint64_t seed, int kills,
                           std::chrono::microseconds run_time, const std::function<void()>& after_kill) {
  rng_stream r(seed);
  int hits = 0;
  for (int k = 0; k < kills; ++k) {
    const auto delay = std::chrono::microseconds(
        static_cast<std::int64_t>(r.uniform() * 2.0 * static_cast<double>(run_time.count()) / kills));
    const ::pid_t pid = start_child(test_case, dir, log);
    std::this_thread::sleep_for(delay);
    ::kill(pid, SIGKILL);
    const int rc = wait_child(pid);
    INFO("kill ", k, " after ", delay.count(), " us; child log ", log.string());
    REQUIRE((rc == 0 || rc == -SIGKILL));
    hits += rc == -SIGKILL;
    after_kill();
  }
  return hits;
}

// Files in `dir` that look like write_file_atomically's temporaries.
inline std::vector<std::string> temporaries_in(const std::filesystem::path& dir) {
  std::vector<std::string> found;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().filename().string().find(".tmp.") != std::string::npos) found.push_back(e.path().filename());
  return found;
}

// Two safetensors files hold the same tensors bit for bit and the same metadata, apart from `ignored`
// keys (wall-clock times).
inline void check_same_safetensors(const std::filesystem::path& a, const std::filesystem::path& b,
                                   const std::set<std::string>& ignored = {}) {
  const safetensors_reader ra(a), rb(b);
  auto meta_a = ra.metadata(), meta_b = rb.metadata();
  for (const auto& key : ignored) meta_a.erase(key), meta_b.erase(key);
  CHECK(meta_a == meta_b);
  REQUIRE(ra.entries().size() == rb.entries().size());
  for (const auto& e : ra.entries()) {
    CAPTURE(e.name);
    REQUIRE(rb.contains(e.name));
    CHECK(rb.entry(e.name).shape == e.shape);
    CHECK((ra.read_bytes(e.name) == rb.read_bytes(e.name)));
  }
}

}  // namespace patchzoo::test
