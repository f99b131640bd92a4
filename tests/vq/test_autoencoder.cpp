// Encoder and decoder: output shapes for downsample factors 1, 2 and 4, conv-stack gradients by finite
// differences, and the decoder's parameter gradients through the whole tokenizer.
#include "vq/vq_fixture.hpp"

using namespace patchzoo;
using namespace patchzoo::test;

TEST_CASE("vq autoencoder: token grids and reconstructions have the right shapes for factors 1, 2, 4") {
  eigen_backend be;
  for (const std::int64_t f : {1, 2, 4}) {
    CAPTURE(f);
    vq::vq_tokenizer<eigen_backend, float> model(tiny_vq_config(f), 3);
    const auto images = blob_images<float>(2, 16, 5);
    const auto codes = model.encode(be, images);
    CHECK(codes.shape() == shape_t{2, 16 / f, 16 / f});
    const auto recon = model.decode(be, codes);
    CHECK(recon.shape() == images.shape());
    const auto l = model.forward(be, images);
    CHECK(l.recon_mse > 0.0);
    CHECK(model.grid_side(48) == 48 / f);
  }
  vq::vq_tokenizer<eigen_backend, float> model(tiny_vq_config(4), 3);
  CHECK_THROWS_WITH_AS(model.grid_side(30), doctest::Contains("not a multiple"), patchzoo::error);
}

template <class Stack>
void check_stack_gradients(const char* what, Stack& stack, nn::param_layout& layout, shape_t in_shape) {
  xtensor_backend be;
  nn::param_arena<xtensor_backend, double> params(layout), grads(layout);
  tensor<double> host(shape_t{layout.total()});
  stack.initialize(host, layout, 81);
  std::copy(host.data(), host.data() + host.numel(), params.flat().data);
  dtensor in = random_tensor<double>(in_shape, 82);
  const dtensor w = loss_weights(stack.output_shape(in_shape), 83);
  const auto loss = [&] {
    const auto out = stack.forward(be, params, in.cview());
    double s = 0.0;
    for (std::int64_t i = 0; i < out.numel(); ++i) s += out.data[i] * w[i];
    return s;
  };
  loss();
  for (std::int64_t i = 0; i < grads.flat().numel(); ++i) grads.flat().data[i] = grad_prefill;
  dtensor din = prefilled_grad(in_shape);
  stack.backward(be, params, grads, w.cview(), din.view());
  dtensor p(shape_t{layout.total()}), dp(shape_t{layout.total()});
  std::copy(params.flat().data, params.flat().data + p.numel(), p.data());
  std::copy(grads.flat().data, grads.flat().data + p.numel(), dp.data());
  check_gradient(std::string(what) + " din", in, accumulated(din), loss);
  check_gradient(std::string(what) + " dparams", p, accumulated(dp), [&] {
    std::copy(p.data(), p.data() + p.numel(), params.flat().data);
    return loss();
  });
}

TEST_CASE("vq autoencoder: encoder and decoder gradients by finite differences (factor 2)") {
  const auto cfg = tiny_vq_config(2);
  nn::param_layout enc_layout, dec_layout;
  vq::conv_stack<xtensor_backend, double> encoder(vq::encoder_specs(cfg), enc_layout);
  vq::conv_stack<xtensor_backend, double> decoder(vq::decoder_specs(cfg), dec_layout);
  check_stack_gradients("encoder", encoder, enc_layout, {2, 1, 6, 6});
  check_stack_gradients("decoder", decoder, dec_layout, {2, cfg.code_dim, 3, 3});
}

TEST_CASE("vq tokenizer: decoder parameter gradients through the whole model match finite differences") {
  xtensor_backend be;
  vq::vq_tokenizer<xtensor_backend, double> model(tiny_vq_config(2), 7);
  const auto images = blob_images<double>(2, 6, 8);
  model.grads().zero();
  model.forward(be, images);
  model.backward(be);
  const auto& dec = model.layout().find("dec.out.weight");
  const auto& first = model.layout().find("dec.in.weight");
  const auto codes = model.encode(be, images).to_vector();
  // The decoder sees the codes only: its gradient is the exact gradient of the loss.
  for (const auto* slice : {&dec, &first}) {
    dtensor p(slice->shape), dp(slice->shape);
    std::copy(model.params().flat().data + slice->offset, model.params().flat().data + slice->offset + p.numel(), p.data());
    std::copy(model.grads().flat().data + slice->offset, model.grads().flat().data + slice->offset + p.numel(), dp.data());
    check_gradient(slice->name, p, dp, [&] {
      std::copy(p.data(), p.data() + p.numel(), model.params().flat().data + slice->offset);
      return model.forward(be, images).total();
    });
  }
  CHECK(model.encode(be, images).to_vector() == codes);
}
