// CUDA vs xtensor: row_argmax (with ties) and transpose_last2 (assign and accumulate); both are exact.
#include "cuda_fixture.hpp"

using namespace patchzoo;
using namespace patchzoo::test;

TEST_CASE("cuda vs xtensor: row_argmax with ties, and a bad output shape") {
  if (!cuda_device_present()) return;
  cuda_pair be;
  auto in = mirror_random(be.gpu, shape_t{1000, 513}, 21);
  tensor<std::int32_t> r(shape_t{1000});
  device_ints g(shape_t{1000});
  row_argmax(be.ref, r.view(), in.host.cview());
  row_argmax(be.gpu, g.view(), in.dev.cview());
  compare_exact("row_argmax", be.gpu, g, r);

  const tensor<float> ties_h(shape_t{2, 4}, {1, 3, 3, 0, 0, 0, 0, 5});
  const auto ties_g = upload(be.gpu, ties_h);
  device_ints tg(shape_t{2});
  row_argmax(be.gpu, tg.view(), ties_g.cview());
  CHECK(download(be.gpu, tg).to_vector() == std::vector<std::int32_t>{1, 3});

  tensor<std::int32_t> bad_r(shape_t{999});
  device_ints bad_g(shape_t{999});
  expect_same_error(
      "row_argmax output too short", [&] { row_argmax(be.ref, bad_r.view(), in.host.cview()); },
      [&] { row_argmax(be.gpu, bad_g.view(), in.dev.cview()); });
}

TEST_CASE("cuda vs xtensor: transpose_last2 assign and accumulate") {
  if (!cuda_device_present()) return;
  cuda_pair be;
  const std::int64_t b = 6, m = 33, n = 256;
  auto in = mirror_random(be.gpu, shape_t{b, m, n}, 22);
  auto out = mirror_random(be.gpu, shape_t{b, n, m}, 23);
  transpose_last2(be.ref, out.host.view(), in.host.cview(), false);
  transpose_last2(be.gpu, out.dev.view(), in.dev.cview(), false);
  compare("transpose_last2", be.gpu, out.dev, out.host, "elementwise");
  auto acc = mirror_random(be.gpu, shape_t{b, n, m}, 24);
  transpose_last2(be.ref, acc.host.view(), in.host.cview(), true);
  transpose_last2(be.gpu, acc.dev.view(), in.dev.cview(), true);
  compare("transpose_last2 accumulate", be.gpu, acc.dev, acc.host, "elementwise");
}
