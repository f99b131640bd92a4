#pragma once
// The one way tests get scratch space: a fresh directory with a unique name under the system temp
// directory (mkdtemp), removed with everything in it when the object goes out of scope. Unique names let
// several build directories (and ctest -j) run the same test at once, and nothing is left in /tmp.
#include <stdlib.h>  // mkdtemp

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct temp_dir {
  std::filesystem::path path;

  // `label` only makes a leftover directory (a crashed test) recognisable: <tmp>/patchzoo_<label>_XXXXXX.
  explicit temp_dir(std::string_view label = "test") {
    std::string pattern =
        (std::filesystem::temp_directory_path() / ("patchzoo_" + std::string(label) + "_XXXXXX")).string();
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (::mkdtemp(buffer.data()) == nullptr)
      throw std::runtime_error("temp_dir: mkdtemp(" + pattern + ") failed: " + std::strerror(errno));
    path = buffer.data();
  }
  ~temp_dir() {
    std::error_code ec;  // never throw from a destructor; a directory we cannot remove is not a test failure
    std::filesystem::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  std::filesystem::path operator/(const std::string& name) const { return path / name; }
};

inline std::string read_file_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_file_bytes(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}
