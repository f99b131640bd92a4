// Finite-difference checks of matmul_backward (every transpose combination, batched, shared b),
// linear_forward / linear_backward and the bias ops.
#include "grad/grad_fixture.hpp"
#include "patchzoo/ops/linear.hpp"

using namespace patchzoo;
using namespace patchzoo::test;

namespace {

// Checks da and db of c = op(a) op(b) for a batch of `batch` (0: rank 2) and a shared rank-2 b.
void check_matmul_grads(bool ta, bool tb, std::int64_t batch, bool shared_b) {
  INFO("trans_a " << ta << " trans_b " << tb << " batch " << batch << " shared_b " << shared_b);
  xtensor_backend be;
  const std::int64_t m = 3, k = 4, n = 2;
  const shape_t a_mat = ta ? shape_t{k, m} : shape_t{m, k};
  const shape_t b_mat = tb ? shape_t{n, k} : shape_t{k, n};
  const auto batched = [&](shape_t s, bool with_batch) {
    return with_batch ? shape_t{batch, s[0], s[1]} : s;
  };
  const bool a_batched = batch > 0, b_batched = batch > 0 && !shared_b;
  dtensor a = random_tensor<double>(batched(a_mat, a_batched), 1);
  dtensor b = random_tensor<double>(batched(b_mat, b_batched), 2);
  dtensor c(batched(shape_t{m, n}, a_batched));
  const dtensor w = loss_weights(c.shape());
  const auto loss = [&] {
    matmul(be, c.view(), a.cview(), b.cview(), ta, tb);
    return weighted_sum(c, w);
  };
  dtensor da = prefilled_grad(a.shape()), db = prefilled_grad(b.shape());
  matmul_backward(be, da.view(), db.view(), w.cview(), a.cview(), b.cview(), ta, tb);
  check_gradient("matmul da", a, accumulated(da), loss);
  check_gradient("matmul db", b, accumulated(db), loss);
}

}  // namespace

TEST_CASE("grad: matmul, all four transpose combinations, rank 2") {
  for (bool ta : {false, true})
    for (bool tb : {false, true}) check_matmul_grads(ta, tb, 0, false);
}

TEST_CASE("grad: matmul, batched rank 3") {
  for (bool ta : {false, true})
    for (bool tb : {false, true}) check_matmul_grads(ta, tb, 2, false);
}

TEST_CASE("grad: matmul, batched a with a shared rank-2 b") {
  for (bool ta : {false, true})
    for (bool tb : {false, true}) check_matmul_grads(ta, tb, 3, true);
}

TEST_CASE("grad: matmul_backward skips an empty gradient") {
  xtensor_backend be;
  dtensor a = random_tensor<double>({3, 4}, 1), b = random_tensor<double>({4, 2}, 2);
  const dtensor w = loss_weights({3, 2});
  dtensor db = prefilled_grad(b.shape());
  matmul_backward(be, tensor_view<double>(), db.view(), w.cview(), a.cview(), b.cview(), false, false);
  dtensor c({3, 2});
  check_gradient("matmul db alone", b, accumulated(db), [&] {
    matmul(be, c.view(), a.cview(), b.cview(), false, false);
    return weighted_sum(c, w);
  });
}

TEST_CASE("grad: linear with and without bias") {
  xtensor_backend be;
  for (bool with_bias : {true, false}) {
    INFO("with_bias " << with_bias);
    dtensor in = random_tensor<double>({5, 4}, 3), weight = random_tensor<double>({3, 4}, 4);
    dtensor bias = random_tensor<double>({3}, 5);
    const const_view<double> bias_view = with_bias ? bias.cview() : const_view<double>();
    dtensor out({5, 3});
    const dtensor w = loss_weights(out.shape());
    const auto loss = [&] {
      linear_forward(be, out.view(), in.cview(), weight.cview(), bias_view);
      return weighted_sum(out, w);
    };
    dtensor din = prefilled_grad(in.shape()), dweight = prefilled_grad(weight.shape());
    dtensor dbias = prefilled_grad(bias.shape());
    linear_backward(be, din.view(), dweight.view(), with_bias ? dbias.view() : tensor_view<double>(), w.cview(),
                    in.cview(), weight.cview());
    check_gradient("linear din", in, accumulated(din), loss);
    check_gradient("linear dweight", weight, accumulated(dweight), loss);
    if (with_bias) check_gradient("linear dbias", bias, accumulated(dbias), loss);
    else CHECK(dbias[0] == grad_prefill);
  }
}

TEST_CASE("grad: add_bias / bias_backward") {
  xtensor_backend be;
  const dtensor x0 = random_tensor<double>({4, 3}, 6);
  dtensor bias = random_tensor<double>({3}, 7);
  const dtensor w = loss_weights(x0.shape());
  dtensor dbias = prefilled_grad(bias.shape());
  bias_backward(be, dbias.view(), w.cview());
  check_gradient("bias", bias, accumulated(dbias), [&] {
    dtensor x = x0.clone();
    add_bias(be, x.view(), bias.cview());
    return weighted_sum(x, w);
  });
}
