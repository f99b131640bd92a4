// What works without a GPU: the device-count query, the skip path, memory-space errors, the transfer
// helpers on a host backend, and the compile-time proof that the CUDA backend implements every op.
#include "cuda_fixture.hpp"

using namespace patchzoo;
using namespace patchzoo::test;

static_assert(backend<cuda_backend>);
static_assert(full_backend<cuda_backend, float>, "the CUDA backend must declare every op of docs/ops.md for float");
static_assert(!cuda_memory::is_host);

TEST_CASE("cuda: the device count is a query, never an error") {
  const int count = cuda_device_count();
  CHECK(count >= 0);
  CHECK(cuda_device_count() == count);
  MESSAGE("CUDA devices: ", count);
  CHECK(cuda_device_present() == (count > 0));
}

TEST_CASE("cuda: a backend on a missing device is a clear error") {
  const auto open = [](int device) { cuda_backend be(device); };
  CHECK_THROWS_WITH_AS(open(cuda_device_count()), doctest::Contains("CUDA device(s) are available"), patchzoo::error);
  CHECK_THROWS_WITH_AS(open(-1), doctest::Contains("device -1 requested"), patchzoo::error);
}

TEST_CASE("cuda: an empty device tensor allocates nothing") {
  tensor<float, cuda_memory> t(shape_t{0, 4});
  CHECK(t.data() == nullptr);
  CHECK(t.empty());
  auto moved = std::move(t);
  CHECK(moved.numel() == 0);
}

TEST_CASE("cuda: memory-space failures name the CUDA call and CUDA's reason") {
  const auto allocate = [](std::int64_t n) { return tensor<float, cuda_memory>(shape_t{n}); };
  if (cuda_device_count() == 0) {
    // No device: the first allocation fails, and says so.
    CHECK_THROWS_WITH_AS(allocate(4), doctest::Contains("cuda_memory: cudaMalloc of 16 bytes"), patchzoo::error);
  } else {
    // A petabyte does not fit on any device; the error is reported, not sticky.
    CHECK_THROWS_WITH_AS(allocate(std::int64_t{1} << 48), doctest::Contains("cudaErrorMemoryAllocation"),
                         patchzoo::error);
    const auto ok = allocate(4);
    CHECK(ok.data() != nullptr);
  }
}

TEST_CASE("transfer: upload and download are copies on a host backend") {
  xtensor_backend be;
  const auto host = random_tensor<float>(shape_t{3, 5}, 7);
  auto up = upload(be, host);
  CHECK(up.data() != host.data());
  CHECK(up.to_vector() == host.to_vector());
  const auto down = download(be, up.cview());
  CHECK(down.to_vector() == host.to_vector());
  CHECK(down.shape() == host.shape());
  tensor<float> wide(shape_t{4, 6});
  const tensor_view<float> strided(wide.data(), shape_t{4, 3}, {6, 1, 0, 0});
  CHECK_THROWS_WITH_AS(upload(be, strided), doctest::Contains("upload: source with shape [4, 3] must be contiguous"),
                       patchzoo::error);
}

TEST_CASE("transfer: round trip through the GPU") {
  if (!cuda_device_present()) return;
  cuda_backend gpu;
  const auto host = random_tensor<float>(shape_t{2, 3, 7}, 11);
  const auto dev = upload(gpu, host);
  CHECK(download(gpu, dev).to_vector() == host.to_vector());
  const auto ids = int_tensor(shape_t{4}, {3, -1, 0, 9});
  CHECK(download(gpu, upload(gpu, ids)).to_vector() == ids.to_vector());
}
