#pragma once
// patchzoo's version, the same as project(VERSION ...) in the top-level CMakeLists.txt (the ctest
// packaging_version_header fails when they differ). Installed with the other headers.
#define PATCHZOO_VERSION_MAJOR 0
#define PATCHZOO_VERSION_MINOR 1
#define PATCHZOO_VERSION_PATCH 0
#define PATCHZOO_VERSION_STRING "0.1.0"
// One number for comparisons in the preprocessor: 10000 * major + 100 * minor + patch.
#define PATCHZOO_VERSION (PATCHZOO_VERSION_MAJOR * 10000 + PATCHZOO_VERSION_MINOR * 100 + PATCHZOO_VERSION_PATCH)

namespace patchzoo {

struct version_info {
  int major, minor, patch;
  const char* string;
};

inline constexpr version_info version{PATCHZOO_VERSION_MAJOR, PATCHZOO_VERSION_MINOR, PATCHZOO_VERSION_PATCH,
                                      PATCHZOO_VERSION_STRING};

}  // namespace patchzoo
