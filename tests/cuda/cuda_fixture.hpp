#pragma once
// Shared pieces of the CUDA differential tests: each op runs on the xtensor reference (host) and on the
// CUDA backend from identical seeded inputs (uploaded), and the downloaded result is compared with the
// op's float tolerance. Without a CUDA device every such test logs a skip and returns.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "patchzoo/backend/cuda/cuda_backend.hpp"
#include "patchzoo/backend/transfer.hpp"
#include "patchzoo/backend/xtensor/xtensor_backend.hpp"
#include "support/compare.hpp"
#include "support/random.hpp"

namespace patchzoo::test {

using device_tensor = tensor<float, cuda_memory>;
using device_ints = tensor<std::int32_t, cuda_memory>;

// True when a CUDA device is present; otherwise logs the skip so that the caller can return. With
// PATCHZOO_REQUIRE_CUDA set (scripts/device-check sets it) a missing device fails instead: a GPU check
// that silently skipped everything would prove nothing.
inline bool cuda_device_present() {
  if (cuda_device_count() > 0) return true;
  if (std::getenv("PATCHZOO_REQUIRE_CUDA") != nullptr) {
    FAIL_CHECK("PATCHZOO_REQUIRE_CUDA is set but no CUDA device was found");
  } else {
    MESSAGE("no CUDA device: skipped");
  }
  return false;
}

struct cuda_pair {
  xtensor_backend ref;
  cuda_backend gpu;
};

// The same seeded values on the host (for the reference) and on the device.
struct mirrored {
  tensor<float> host;
  device_tensor dev;
};

inline mirrored mirror_random(cuda_backend& gpu, shape_t s, std::uint64_t seed, double lo = -1.0, double hi = 1.0) {
  auto host = random_tensor<float>(s, seed, lo, hi);
  auto dev = upload(gpu, host);
  return {std::move(host), std::move(dev)};
}

// Downloads the GPU result and compares it with the reference result under the op's tolerance.
inline void compare(const std::string& what, cuda_backend& gpu, const device_tensor& got, const tensor<float>& want,
                    const char* op) {
  const auto host = download(gpu, got);
  check_close<float, float>(what, host.cview(), want.cview(), f32_tolerance(op));
}

inline void compare_exact(const std::string& what, cuda_backend& gpu, const device_ints& got,
                          const tensor<std::int32_t>& want) {
  INFO(what);
  CHECK(download(gpu, got).to_vector() == want.to_vector());
}

// Rows of one slot of a fused [T, slots, H, D] buffer (host or device), seen as a [T, H, D] view with
// strided rows, as attention and rope take them.
template <class T, class M>
tensor_view<T> fused_slot(tensor<T, M>& fused, std::int64_t slot) {
  const std::int64_t heads = fused.dim(2), d = fused.dim(3);
  return tensor_view<T>(fused.data() + slot * heads * d, shape_t{fused.dim(0), heads, d},
                        {fused.dim(1) * heads * d, d, 1, 0});
}

// The same slot read-only, for the inputs of the templated reference ops (no conversion in deduction).
template <class T, class M>
const_view<T> input_slot(tensor<T, M>& fused, std::int64_t slot) {
  return fused_slot(fused, slot);
}

// Both backends must reject the input with the very same message.
template <class Ref, class Gpu>
void expect_same_error(const std::string& what, Ref&& ref, Gpu&& gpu) {
  INFO(what);
  std::string ref_message, gpu_message;
  try {
    ref();
  } catch (const patchzoo::error& e) {
    ref_message = e.what();
  }
  try {
    gpu();
  } catch (const patchzoo::error& e) {
    gpu_message = e.what();
  }
  CHECK_MESSAGE(!ref_message.empty(), "the reference accepted the bad input");
  CHECK(gpu_message == ref_message);
}

}  // namespace patchzoo::test
