#pragma once
// Shared plumbing of the libFuzzer targets (one per reader, tests/fuzz/fuzz_*.cpp).
//
// Each target defines
//   void fuzz_one(std::span<const std::uint8_t> input);   // feed one input to the reader
//   void write_seeds(const seed_writer& out);             // valid inputs, written by the library itself
// and includes this header once, which supplies the libFuzzer entry points:
//   - LLVMFuzzerTestOneInput: calls fuzz_one; a patchzoo::error (or the server's protocol_error, see
//     expected_error) means "input rejected" and is the expected outcome; any other exception escapes,
//     and libFuzzer reports it as a crash, like a sanitizer report.
//   - LLVMFuzzerInitialize: `fuzz_x --write-seeds DIR` writes the seed corpus into DIR, checks that the
//     target accepts each seed not named bad_*, and exits (non-zero if one is rejected), before libFuzzer
//     parses its own flags. Seeds are generated, not committed, so they follow the formats.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "patchzoo/core/error.hpp"

// Writes named seed files into one directory.
class seed_writer {
 public:
  explicit seed_writer(std::filesystem::path dir) : dir_(std::move(dir)) { std::filesystem::create_directories(dir_); }
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path path(const std::string& name) const { return dir_ / name; }
  void text(const std::string& name, std::string_view bytes) const {
    std::ofstream out(dir_ / name, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }

 private:
  std::filesystem::path dir_;
};

// For readers that take a path: the input goes to one file per process (several fuzz jobs, ctest -j and
// several build directories may run at once), rewritten for every input and removed at exit.
class input_file {
 public:
  explicit input_file(const std::string& suffix) {
    std::string pattern = (std::filesystem::temp_directory_path() / "patchzoo_fuzz_XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      std::perror("patchzoo fuzz: mkdtemp");
      std::abort();
    }
    dir_ = pattern;
    path_ = dir_ / ("input" + suffix);
  }
  ~input_file() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  const std::filesystem::path& write(std::span<const std::uint8_t> bytes) const {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) std::abort();  // a full disk is not a finding about the reader
    return path_;
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path dir_, path_;
};

// One input_file per target, created on first use and removed when the process exits normally (libFuzzer
// exits through exit(), which runs static destructors; a crash leaves the small directory behind).
inline const input_file& scratch_file(const std::string& suffix) {
  static const input_file file(suffix);
  return file;
}

void fuzz_one(std::span<const std::uint8_t> input);
void write_seeds(const seed_writer& out);

// Exceptions that mean "the reader rejected the input", which is what it should do with garbage. A target
// whose reader has its own error type (serve::protocol_error) defines PATCHZOO_FUZZ_EXTRA_EXPECTED.
#ifndef PATCHZOO_FUZZ_EXTRA_EXPECTED
#define PATCHZOO_FUZZ_EXTRA_EXPECTED
#endif

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    fuzz_one({data, size});
  } catch (const patchzoo::error&) {
  }
  PATCHZOO_FUZZ_EXTRA_EXPECTED
  return 0;
}

// Every seed the library wrote must also be read back without an error (a round trip for free), except
// those named bad_*, which are there to start the fuzzer inside the error paths.
inline int check_seeds(const std::filesystem::path& dir) {
  int rejected = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().filename().string().rfind("bad_", 0) == 0) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    try {
      fuzz_one(bytes);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "seed %s is rejected: %s\n", entry.path().c_str(), e.what());
      ++rejected;
    }
  }
  return rejected;
}

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  for (int i = 1; i < *argc; ++i) {
    if (std::strcmp((*argv)[i], "--write-seeds") == 0 && i + 1 < *argc) {
      try {
        write_seeds(seed_writer((*argv)[i + 1]));
      } catch (const std::exception& e) {
        std::fprintf(stderr, "writing seeds failed: %s\n", e.what());
        std::exit(1);
      }
      std::exit(check_seeds((*argv)[i + 1]) == 0 ? 0 : 1);
    }
  }
  return 0;
}
