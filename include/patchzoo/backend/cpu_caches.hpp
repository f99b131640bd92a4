#pragma once
// The size of the CPU's last-level cache, for choices that keep a working set inside it (sampling in
// groups of images, dpar/sampler.hpp). Read from Linux's sysfs: CPUID's figure is unreliable under a
// hypervisor (this project's Zen 4 VM reports 320 MiB through CPUID, its sysfs 32 MiB, as lscpu does).
#include <cstddef>
#include <fstream>
#include <string>

namespace patchzoo {

namespace cpu_caches_detail {

// "32768K", "1M" or a plain byte count, as sysfs writes cache sizes; 0 where it is none of them.
inline std::size_t parse_cache_size(const std::string& text) {
  std::size_t end = 0;
  unsigned long long value = 0;
  try {
    value = std::stoull(text, &end);
  } catch (...) {
    return 0;
  }
  const std::string unit = text.substr(end, 1);
  if (unit == "K") value <<= 10;
  if (unit == "M") value <<= 20;
  return static_cast<std::size_t>(value);
}

}  // namespace cpu_caches_detail

// Bytes of the highest cache level of CPU 0; 8 MiB (a common desktop L3) where sysfs does not say.
inline std::size_t last_level_cache_bytes() {
  static const std::size_t bytes = [] {
    constexpr std::size_t fallback = std::size_t{8} << 20;
    int best_level = 0;
    std::size_t best = 0;
    for (int index = 0; index < 16; ++index) {
      const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/";
      std::ifstream level_file(dir + "level"), size_file(dir + "size");
      int level = 0;
      std::string size;
      if (!(level_file >> level) || !(size_file >> size)) continue;
      const std::size_t parsed = cpu_caches_detail::parse_cache_size(size);
      if (level > best_level && parsed > 0) {
        best_level = level;
        best = parsed;
      }
    }
    return best > 0 ? best : fallback;
  }();
  return bytes;
}

}  // namespace patchzoo
