// A failed save must leave an existing checkpoint byte-for-byte intact and no temporary file behind.
#include <doctest/doctest.h>

#include <sys/resource.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <string>
#include <vector>

#include "support/temp_dir.hpp"
#include "patchzoo/io/safetensors.hpp"

using namespace patchzoo;

namespace {

std::vector<std::string> directory_names(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

void save_single(const std::filesystem::path& file, const tensor<float>& t) {
  safetensors_writer writer;
  writer.add("w", t.cview());
  writer.write(file);
}

// Caps the size of files this process writes, so a write fails part-way with EFBIG as on a full disk.
struct file_size_limit {
  rlimit saved{};
  void (*saved_handler)(int) = nullptr;
  explicit file_size_limit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &saved);
    saved_handler = std::signal(SIGXFSZ, SIG_IGN);  // report EFBIG instead of killing the process
    rlimit capped = saved;
    capped.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &capped);
  }
  ~file_size_limit() {
    setrlimit(RLIMIT_FSIZE, &saved);
    std::signal(SIGXFSZ, saved_handler);
  }
};

}  // namespace

TEST_CASE("safetensors atomic write: a successful save replaces the old file and leaves no temporary") {
  temp_dir dir;
  const auto file = dir / "ckpt.safetensors";
  save_single(file, tensor<float>(shape_t{2}, {1, 2}));
  save_single(file, tensor<float>(shape_t{3}, {7, 8, 9}));
  CHECK(safetensors_reader(file).load<float>("w").to_vector() == std::vector<float>{7, 8, 9});
  CHECK(directory_names(dir.path) == std::vector<std::string>{"ckpt.safetensors"});
}

TEST_CASE("safetensors atomic write: a write failing part-way leaves the existing checkpoint intact") {
  temp_dir dir;
  const auto file = dir / "ckpt.safetensors";
  save_single(file, tensor<float>(shape_t{2}, {1, 2}));
  const std::string before = read_file_bytes(file);

  tensor<float> big(shape_t{64, 1024});
  big.view().data[5] = 3.0f;
  {
    file_size_limit limit(4096);
    CHECK_THROWS_WITH_AS(save_single(file, big), doctest::Contains(("writing " + file.string() + " failed").c_str()),
                         patchzoo::error);
  }
  CHECK(read_file_bytes(file) == before);
  CHECK(safetensors_reader(file).load<float>("w").to_vector() == std::vector<float>{1, 2});
  CHECK(directory_names(dir.path) == std::vector<std::string>{"ckpt.safetensors"});
}

TEST_CASE("safetensors atomic write: a target that cannot be renamed over is left untouched") {
  temp_dir dir;
  // A non-empty directory in place of the checkpoint: the temp file is written, the rename fails.
  const auto target = dir / "ckpt.safetensors";
  std::filesystem::create_directories(target);
  write_file_bytes(target / "keep.txt", "precious");
  CHECK_THROWS_WITH_AS(save_single(target, tensor<float>(shape_t{2}, {1, 2})),
                       doctest::Contains(("renaming the temporary file over " + target.string() + " failed").c_str()),
                       patchzoo::error);
  CHECK(std::filesystem::is_directory(target));
  CHECK(read_file_bytes(target / "keep.txt") == "precious");
  CHECK(directory_names(dir.path) == std::vector<std::string>{"ckpt.safetensors"});
}

TEST_CASE("safetensors atomic write: a missing directory fails before anything is created") {
  temp_dir dir;
  const auto file = dir / "no_such_dir" / "ckpt.safetensors";
  CHECK_THROWS_WITH_AS(save_single(file, tensor<float>(shape_t{1}, {1})), doctest::Contains("cannot create"),
                       patchzoo::error);
  CHECK(directory_names(dir.path).empty());
}
