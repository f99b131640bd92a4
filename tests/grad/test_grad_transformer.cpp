// Finite-difference checks of the transformer ops: embedding, norms, activations, softmax, cross-entropy.
#include "grad/grad_fixture.hpp"

using namespace patchzoo;
using namespace patchzoo::test;

TEST_CASE("grad: embedding table, with a repeated id") {
  xtensor_backend be;
  dtensor table = random_tensor<double>({5, 3}, 11);
  const tensor<std::int32_t> ids = int_tensor({4}, {1, 3, 1, 0});
  dtensor out({4, 3});
  const dtensor w = loss_weights(out.shape());
  dtensor dtable = prefilled_grad(table.shape());
  embedding_backward(be, dtable.view(), w.cview(), ids.cview());
  check_gradient("embedding dtable", table, accumulated(dtable), [&] {
    embedding_forward(be, out.view(), ids.cview(), table.cview());
    return weighted_sum(out, w);
  });
  CHECK(dtable[2 * 3] == grad_prefill);  // row 2 is never looked up
}

TEST_CASE("grad: rmsnorm input and weight") {
  xtensor_backend be;
  dtensor in = random_tensor<double>({3, 5}, 12), weight = random_tensor<double>({5}, 13, 0.5, 1.5);
  dtensor out({3, 5}), rstd({3});
  const dtensor w = loss_weights(out.shape());
  const auto loss = [&] {
    rmsnorm_forward(be, out.view(), rstd.view(), in.cview(), weight.cview(), 1e-5);
    return weighted_sum(out, w);
  };
  loss();
  dtensor din = prefilled_grad(in.shape()), dweight = prefilled_grad(weight.shape());
  rmsnorm_backward(be, din.view(), dweight.view(), w.cview(), in.cview(), weight.cview(), rstd.cview());
  check_gradient("rmsnorm din", in, accumulated(din), loss);
  check_gradient("rmsnorm dweight", weight, accumulated(dweight), loss);

  dtensor din_only = prefilled_grad(in.shape());
  rmsnorm_backward(be, din_only.view(), tensor_view<double>(), w.cview(), in.cview(), weight.cview(), rstd.cview());
  check_close("rmsnorm din without dweight", din_only, din, {0.0, 0.0});
}

TEST_CASE("grad: layernorm input, weight and bias") {
  xtensor_backend be;
  dtensor in = random_tensor<double>({3, 6}, 14), weight = random_tensor<double>({6}, 15, 0.5, 1.5);
  dtensor bias = random_tensor<double>({6}, 16);
  dtensor out({3, 6}), mean({3}), rstd({3});
  const dtensor w = loss_weights(out.shape());
  const auto loss = [&] {
    layernorm_forward(be, out.view(), mean.view(), rstd.view(), in.cview(), weight.cview(), bias.cview(), 1e-5);
    return weighted_sum(out, w);
  };
  loss();
  dtensor din = prefilled_grad(in.shape()), dweight = prefilled_grad(weight.shape()), dbias = prefilled_grad(bias.shape());
  layernorm_backward(be, din.view(), dweight.view(), dbias.view(), w.cview(), in.cview(), weight.cview(), mean.cview(),
                     rstd.cview());
  check_gradient("layernorm din", in, accumulated(din), loss);
  check_gradient("layernorm dweight", weight, accumulated(dweight), loss);
  check_gradient("layernorm dbias", bias, accumulated(dbias), loss);
}

TEST_CASE("grad: silu and gelu") {
  xtensor_backend be;
  dtensor in = random_tensor<double>({4, 5}, 17, -4.0, 4.0);
  dtensor out({4, 5});
  const dtensor w = loss_weights(out.shape());
  SUBCASE("silu") {
    dtensor din = prefilled_grad(in.shape());
    silu_backward(be, din.view(), w.cview(), in.cview());
    check_gradient("silu", in, accumulated(din), [&] {
      silu_forward(be, out.view(), in.cview());
      return weighted_sum(out, w);
    });
  }
  SUBCASE("gelu") {
    dtensor din = prefilled_grad(in.shape());
    gelu_backward(be, din.view(), w.cview(), in.cview());
    check_gradient("gelu", in, accumulated(din), [&] {
      gelu_forward(be, out.view(), in.cview());
      return weighted_sum(out, w);
    });
  }
}

TEST_CASE("grad: swiglu gate and up") {
  xtensor_backend be;
  dtensor gate = random_tensor<double>({3, 4}, 18, -3.0, 3.0), up = random_tensor<double>({3, 4}, 19);
  dtensor out({3, 4});
  const dtensor w = loss_weights(out.shape());
  const auto loss = [&] {
    swiglu_forward(be, out.view(), gate.cview(), up.cview());
    return weighted_sum(out, w);
  };
  dtensor dgate = prefilled_grad(gate.shape()), dup = prefilled_grad(up.shape());
  swiglu_backward(be, dgate.view(), dup.view(), w.cview(), gate.cview(), up.cview());
  check_gradient("swiglu dgate", gate, accumulated(dgate), loss);
  check_gradient("swiglu dup", up, accumulated(dup), loss);
}

TEST_CASE("grad: softmax") {
  xtensor_backend be;
  dtensor in = random_tensor<double>({3, 5}, 20, -2.0, 2.0);
  dtensor out({3, 5});
  const dtensor w = loss_weights(out.shape());
  const auto loss = [&] {
    softmax_forward(be, out.view(), in.cview());
    return weighted_sum(out, w);
  };
  loss();
  dtensor din = prefilled_grad(in.shape());
  softmax_backward(be, din.view(), w.cview(), out.cview());
  check_gradient("softmax", in, accumulated(din), loss);
}

TEST_CASE("grad: cross_entropy with an ignored row") {
  xtensor_backend be;
  constexpr std::int32_t ignore = -100;
  constexpr double scale = 0.7;
  dtensor logits = random_tensor<double>({4, 5}, 21, -2.0, 2.0);
  const tensor<std::int32_t> targets = int_tensor({4}, {1, ignore, 4, 0});
  dtensor losses({4}), probs({4, 5});
  std::int64_t counted = 0;
  const auto loss = [&] {
    counted = cross_entropy_forward(be, losses.view(), probs.view(), logits.cview(), targets.cview(), ignore);
    double total = 0.0;
    for (std::int64_t i = 0; i < losses.numel(); ++i) total += scale * losses[i];
    return total;
  };
  loss();
  CHECK(counted == 3);
  CHECK(losses[1] == 0.0);
  dtensor dlogits = prefilled_grad(logits.shape());
  cross_entropy_backward(be, dlogits.view(), probs.cview(), targets.cview(), ignore, scale);
  check_gradient("cross_entropy dlogits", logits, accumulated(dlogits), loss);
  for (std::int64_t c = 0; c < 5; ++c) CHECK(dlogits[5 + c] == grad_prefill);  // the ignored row is untouched
}
