#pragma once
// A check for the files a subcommand writes when it ends (sample grids, token and entropy files): their
// directory must exist when the command starts, so that minutes of work are not lost to a typo at the end.
#include <filesystem>
#include <string>

#include <CLI/CLI.hpp>

inline const CLI::Validator file_in_existing_directory(
    [](std::string& path) -> std::string {
      const auto dir = std::filesystem::path(path).parent_path();
      if (dir.empty() || std::filesystem::is_directory(dir)) return {};
      return "the directory " + dir.string() + " of " + path + " does not exist";
    },
    "FILE", "file in an existing directory");
