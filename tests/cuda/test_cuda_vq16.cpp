// CUDA vs xtensor: LlamaGen's VQ tokenizer (vq16_model) on the device, a small config of its architecture
// (every block kind: ResnetBlocks with and without a shortcut, AttnBlocks, Downsample, Upsample) with the same
// random weights on both backends: decoded images and encoded latents within llamagen_vq's tolerance, codes
// equal except where a latent's two best codes are nearly tied.
#include <cmath>

#include "cuda_fixture.hpp"
#include "patchzoo/vq/vq16_model.hpp"

using namespace patchzoo;
using namespace patchzoo::test;

namespace {

template <class B>
void load_weights(vq::vq16_model<B, float>& model, const tensor<float>& flat) {
  B::memory::copy_from_host(model.params().flat().data, flat.data(), flat.bytes());
}

// Conv weights of variance 1 / fan_in, norm weights near 1, biases O(0.1), the codebook O(1).
tensor<float> random_weights(const nn::param_layout& layout) {
  tensor<float> w(shape_t{layout.total()});
  std::uint64_t seed = 100;
  for (const auto& s : layout.slices()) {
    const auto r = random_tensor<float>(s.shape, ++seed, -1.0, 1.0);
    const bool norm_weight = s.shape.rank == 1 && s.name.find("norm") != std::string::npos && s.name.ends_with("weight");
    const double fan_in = s.shape.rank == 4 ? static_cast<double>(r.numel() / s.shape.dims[0]) : 1.0;
    for (std::int64_t i = 0; i < r.numel(); ++i)
      w[s.offset + i] = norm_weight ? 1.0f + 0.1f * r[i]
                        : s.shape.rank == 4 ? r[i] * static_cast<float>(std::sqrt(3.0 / fan_in))
                                            : (s.shape.rank == 1 ? 0.1f * r[i] : r[i]);
  }
  return w;
}

}  // namespace

TEST_CASE("cuda vs xtensor: vq16_model decode and encode") {
  if (!cuda_device_present()) return;
  const auto config = vq::vq16_config::llamagen(32, {1, 2}, 1, 64, 64, 8);  // 16 px <-> 8 x 8 codes
  cuda_pair p;
  vq::vq16_model<xtensor_backend, float> reference(config);
  vq::vq16_model<cuda_backend, float> device(config);
  const auto weights = random_weights(reference.layout());
  load_weights(reference, weights);
  load_weights(device, weights);
  const auto tol = f32_tolerance("llamagen_vq");

  tensor<std::int32_t> codes(shape_t{2, 8, 8});
  for (std::int64_t i = 0; i < codes.numel(); ++i) codes[i] = static_cast<std::int32_t>((i * 37 + 5) % 64);
  check_close<float, float>("decoded images", device.decode(p.gpu, codes).cview(), reference.decode(p.ref, codes).cview(), tol);

  const auto images = random_tensor<float>(shape_t{2, 3, 16, 16}, 9, -1.0, 1.0);
  tensor<float> device_latents, reference_latents;
  const auto device_codes = device.encode(p.gpu, images, &device_latents);
  const auto reference_codes = reference.encode(p.ref, images, &reference_latents);
  check_close<float, float>("latents", device_latents.cview(), reference_latents.cview(), tol);
  std::int64_t differing = 0;
  for (std::int64_t i = 0; i < device_codes.numel(); ++i) differing += device_codes[i] != reference_codes[i];
  CHECK(differing <= 1);  // random latents: a tie within float rounding is possible, two would be a bug
}
