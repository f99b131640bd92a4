#pragma once
// Memory spaces. An owning tensor allocates through one of these; each backend names the one it uses.
#include <cstddef>
#include <cstring>
#include <new>

namespace patchzoo {

// Plain host memory, 64-byte aligned so that SIMD loads never split a cache line.
struct host_memory {
  static constexpr bool is_host = true;
  static void* allocate(std::size_t bytes) {
    return bytes == 0 ? nullptr : ::operator new(bytes, std::align_val_t{64});
  }
  static void deallocate(void* p) {
    if (p) ::operator delete(p, std::align_val_t{64});
  }
  static void copy_from_host(void* dst, const void* src, std::size_t bytes) { if (bytes) std::memcpy(dst, src, bytes); }
  static void copy_to_host(void* dst, const void* src, std::size_t bytes) { if (bytes) std::memcpy(dst, src, bytes); }
  static void copy(void* dst, const void* src, std::size_t bytes) { if (bytes) std::memcpy(dst, src, bytes); }
  static void zero(void* dst, std::size_t bytes) { if (bytes) std::memset(dst, 0, bytes); }
};

}  // namespace patchzoo
