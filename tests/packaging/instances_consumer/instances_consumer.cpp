// One training step of a tiny transformer whose members come from patchzoo::cpu_instances: the extern
// template declarations keep them out of this unit, so it links only against the installed library.
#include <cmath>
#include <cstdio>

#include <patchzoo/cpu_instances.hpp>

int main() {
  using namespace patchzoo;
  eigen_backend be;
  nn::transformer_config cfg;
  cfg.vocab = 8;
  cfg.layers = 1;
  cfg.max_seq = 8;
  cfg.block = {.dim = 8, .heads = 2, .ffn_hidden = 16, .norm_eps = 1e-5f};
  nn::transformer<eigen_backend, float> model(cfg, 1);
  training::adamw_optimizer<eigen_backend, float> opt(model.layout(), {});
  const nn::token_batch batch{tensor<std::int32_t>(shape_t{4}, {1, 2, 3, 4}),
                              tensor<std::int32_t>(shape_t{4}, {2, 3, 4, 5}), {0, 4}};
  const double loss = model.forward(be, batch);
  model.grads().zero();
  model.backward(be);
  opt.step(be, model.params(), model.grads(), 1e-3);
  if (!std::isfinite(loss) || opt.steps() != 1) {
    std::fprintf(stderr, "instances_consumer: loss %g after %lld steps\n", loss, static_cast<long long>(opt.steps()));
    return 1;
  }
  std::printf("instances_consumer: loss %.3f, instances ok\n", loss);
  return 0;
}
