#pragma once
// What the interop tests share: whether Debian's PyTorch is there, running a command with its output in a
// log, the converter's path, and altered copies of a converted checkpoint for the loaders' refusal tests.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <list>
#include <string>

#include "patchzoo/io/safetensors.hpp"

namespace patchzoo::test {

inline bool torch_available() {
  static const bool ok = std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0;
  return ok;
}

inline const std::filesystem::path converter = std::filesystem::path(PATCHZOO_SOURCE_DIR) / "scripts" / "convert-llamagen";

inline std::string quoted(const std::filesystem::path& p) {
  std::string q(1, '\'');  // appended piecewise: g++ 12 warns (a false -Wstringop-overflow) on "'" + s
  q += p.string();
  q += '\'';
  return q;
}

// Runs a command with stderr (and stdout) captured in `log`; returns the exit status.
inline int run(const std::string& command, const std::filesystem::path& log) {
  const int status = std::system((command + " >" + quoted(log) + " 2>&1").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// What to change in a copy of a converted checkpoint: drop `skip`, make `reshape` [64, 65], add `extra`
// (of `extra_size` values), drop the metadata's "format".
struct checkpoint_change {
  std::string skip, reshape, extra;
  std::int64_t extra_size = 7;
  bool drop_format = false;
};

// Writes `good` with `change` applied to `out` and returns `out`.
inline std::filesystem::path write_changed_copy(const safetensors_reader& good, const std::filesystem::path& out,
                                                const checkpoint_change& change) {
  std::list<tensor<float>> keep;  // the writer holds views until write()
  safetensors_writer w;
  for (const auto& [k, v] : good.metadata())
    if (!change.drop_format || k != "format") w.add_metadata(k, v);
  for (const auto& e : good.entries()) {
    if (e.name == change.skip) continue;
    keep.push_back(e.name == change.reshape ? tensor<float>(shape_t{64, 65}) : good.load<float>(e.name));
    w.add(e.name, keep.back().view());
  }
  if (!change.extra.empty()) {
    keep.push_back(tensor<float>(shape_t{change.extra_size}));
    w.add(change.extra, keep.back().view());
  }
  w.write(out);
  return out;
}

}  // namespace patchzoo::test
