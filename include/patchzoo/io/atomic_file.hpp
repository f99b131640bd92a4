#pragma once
// Write-then-rename: the new contents go to `<path>.tmp.<pid>`, are flushed to disk, and only then
// replace `path`. A crash or error at any point leaves the old file intact. An error removes the
// temporary; one left by a killed process stays until the next write to the same path removes it.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>

#include "patchzoo/core/error.hpp"

namespace patchzoo {

// The write end of the temporary file; every failure throws a patchzoo::error naming the target.
class file_sink {
 public:
  file_sink(int fd, const std::filesystem::path& target) : fd_(fd), target_(target) {}

  void write(const void* data, std::size_t bytes) {
    const char* p = static_cast<const char*>(data);
    while (bytes > 0) {
      const ::ssize_t n = ::write(fd_, p, bytes);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) fail("writing");
      p += n;
      bytes -= static_cast<std::size_t>(n);
      written_ += static_cast<std::size_t>(n);
    }
  }
  std::size_t written() const { return written_; }

  [[noreturn]] void fail(const char* what) const {
    throw error(detail::concat("write_file_atomically: ", what, " ", target_.string(), " failed: ",
                               std::strerror(errno)));
  }

 private:
  int fd_;
  std::filesystem::path target_;
  std::size_t written_ = 0;
};

inline std::filesystem::path atomic_temp_path(const std::filesystem::path& path) {
  return std::filesystem::path(path.string() + ".tmp." + std::to_string(::getpid()));
}

// Removes `<path>.tmp.<pid>` files whose process is gone: what a kill during an earlier write left.
// Temporaries of live processes (a concurrent writer, this process) are not touched.
inline void remove_stale_temporaries(const std::filesystem::path& path) {
  const auto dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  const std::string prefix = path.filename().string() + ".tmp.";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string pid_text = name.substr(prefix.size());
    if (pid_text.find_first_not_of("0123456789") != std::string::npos || pid_text.size() > 9) continue;
    const ::pid_t pid = static_cast<::pid_t>(std::stol(pid_text));
    if (pid != ::getpid() && ::kill(pid, 0) != 0 && errno == ESRCH) std::filesystem::remove(entry.path(), ec);
  }
}

// Calls produce(sink) to fill the temporary file, then fsyncs and renames it over `path`.
inline void write_file_atomically(const std::filesystem::path& path, const std::function<void(file_sink&)>& produce) {
  remove_stale_temporaries(path);
  const auto temp = atomic_temp_path(path);
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    throw error(detail::concat("write_file_atomically: cannot create ", temp.string(), ": ", std::strerror(errno)));
  file_sink sink(fd, path);
  bool open = true;
  try {
    produce(sink);
    if (::fsync(fd) != 0) sink.fail("flushing");
    open = false;
    if (::close(fd) != 0) sink.fail("closing");
    if (std::rename(temp.c_str(), path.c_str()) != 0) sink.fail("renaming the temporary file over");
  } catch (...) {
    if (open) ::close(fd);
    ::unlink(temp.c_str());
    throw;
  }
  // Persist the rename itself; the data is already safe, so a directory that cannot be synced is not an error.
  const auto dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace patchzoo
