// transpose_last2: its backward is the same op on the gradient with accumulate = true.
#include "grad/grad_fixture.hpp"

using namespace patchzoo;
using namespace patchzoo::test;

TEST_CASE("grad: transpose_last2 backward is the accumulating transpose of the gradient") {
  xtensor_backend be;
  dtensor in = random_tensor<double>({2, 3, 5}, 61);
  dtensor out({2, 5, 3});
  const dtensor w = loss_weights(out.shape());
  dtensor din = prefilled_grad(in.shape());
  transpose_last2(be, din.view(), w.cview(), true);
  check_gradient("transpose_last2 din", in, accumulated(din), [&] {
    transpose_last2(be, out.view(), in.cview(), false);
    return weighted_sum(out, w);
  });
}
