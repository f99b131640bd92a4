#pragma once
// The job's communicator for the data-parallel tests, and a scratch directory that every rank shares.
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include "patchzoo/train/mpi_communicator.hpp"
#include "support/temp_dir.hpp"

namespace patchzoo::test {

inline training::mpi_communicator& world() {
  static training::mpi_communicator comm;
  return comm;
}

// Rank 0 creates the directory (and removes it at the end); the others receive its path.
struct shared_temp_dir {
  std::unique_ptr<temp_dir> owned;
  std::filesystem::path path;

  explicit shared_temp_dir(const std::string& label) {
    char name[4096] = {};
    if (world().is_root()) {
      owned = std::make_unique<temp_dir>(label);
      std::strncpy(name, owned->path.c_str(), sizeof(name) - 1);
    }
    world().broadcast(name, sizeof(name));
    path = name;
  }
  ~shared_temp_dir() { world().barrier(); }  // no rank may still read it when rank 0 removes it
};

}  // namespace patchzoo::test
