// CUDA vs xtensor: the zoo runtime on the device (host images in, host probabilities and features out)
// against the reference, on the small zoo of the model_zoo tests.
#include "cuda_fixture.hpp"
#include "patchzoo/zoo/model_zoo.hpp"
#include "support/small_zoo.hpp"
#include "support/temp_dir.hpp"

using namespace patchzoo;
using namespace patchzoo::test;

TEST_CASE("cuda vs xtensor: model_zoo probabilities and features") {
  if (!cuda_device_present()) return;
  temp_dir dir("cuda_zoo");
  write_small_zoo(dir.path);
  const auto gpu = zoo::model_zoo<cuda_backend>::load(dir.path);
  const auto reference = zoo::model_zoo<xtensor_backend>::load(dir.path);
  REQUIRE(gpu.size() == reference.size());
  const auto tol = f32_tolerance("model");
  const auto x = zoo_images(6, 9);
  for (std::size_t k = 0; k < gpu.size(); ++k) {
    INFO("model " << gpu.profiles()[k].id);
    check_close("probabilities", gpu.predict(k, x), reference.predict(k, x), tol);
    check_close("features", gpu.features(k, x), reference.features(k, x), tol);
  }
}
