// write_file_atomically and the temporaries a SIGKILL leaves behind (issue 16, finding 11): the next
// write to the same path removes `<path>.tmp.<pid>` files of processes that are gone, and leaves
// those of live processes, of other paths and names that only look alike.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "support/temp_dir.hpp"
#include "patchzoo/io/atomic_file.hpp"

namespace fs = std::filesystem;

namespace {

// The id of a process that has exited and been reaped.
::pid_t dead_pid() {
  const ::pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  REQUIRE(pid > 0);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  return pid;
}

void write_text(const fs::path& path, const std::string& text) {
  patchzoo::write_file_atomically(path, [&](patchzoo::file_sink& s) { s.write(text.data(), text.size()); });
}

}  // namespace

TEST_CASE("write_file_atomically removes the temporaries of dead processes left for the same path") {
  temp_dir dir;
  const auto target = dir / "checkpoint.safetensors";
  const std::string dead = std::to_string(dead_pid());
  write_file_bytes(target, "old");
  const auto stale = dir / ("checkpoint.safetensors.tmp." + dead);
  const auto live = dir / ("checkpoint.safetensors.tmp." + std::to_string(::getppid()));
  const auto other_path = dir / ("loss.csv.tmp." + dead);
  const auto not_a_pid = dir / "checkpoint.safetensors.tmp.x1";
  for (const auto& p : {stale, live, other_path, not_a_pid}) write_file_bytes(p, "complete-looking");

  write_text(target, "new");
  CHECK(read_file_bytes(target) == "new");
  CHECK(!fs::exists(stale));
  CHECK(fs::exists(live));
  CHECK(fs::exists(other_path));
  CHECK(fs::exists(not_a_pid));
  CHECK(!fs::exists(patchzoo::atomic_temp_path(target)));
}
