#pragma once
// AdamW over a whole parameter arena. Weight decay is decoupled and applies only to tensors of
// rank >= 2 (matrices, embeddings), never to norm gains or biases.
#include <cmath>
#include <cstdint>
#include <utility>

#include "patchzoo/nn/param_arena.hpp"

namespace patchzoo::training {

// No learning rate here: step() takes it, so that a schedule is the one source of it.
struct adamw_config {
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  double weight_decay = 0.05;
};

template <backend B, real T>
  requires transformer_ops<B, T>
class adamw_optimizer {
 public:
  adamw_optimizer(const nn::param_layout& layout, const adamw_config& cfg) : cfg_(cfg), m_(layout), v_(layout) {}

  // One update with learning rate lr (from a schedule); the step counter drives bias correction.
  void step(B& be, nn::param_arena<B, T>& params, const nn::param_arena<B, T>& grads, double lr) {
    check(params.layout() == m_.layout() && grads.layout() == m_.layout(), "adamw_optimizer::step",
          "parameters (", params.layout().total(), " values) or gradients (", grads.layout().total(),
          ") are laid out unlike the moments (", m_.layout().total(),
          "): build the optimizer from this model's layout");
    ++steps_;
    const auto& slices = params.layout().slices();
    for (std::size_t i = 0; i < slices.size(); ++i) {
      const adamw_params h{lr, cfg_.beta1, cfg_.beta2, cfg_.eps, slices[i].shape.rank >= 2 ? cfg_.weight_decay : 0.0};
      adamw_step(be, params[i], grads[i], m_[i], v_[i], h, steps_);
    }
  }

  std::int64_t steps() const { return steps_; }
  void set_steps(std::int64_t s) { steps_ = s; }
  const adamw_config& config() const { return cfg_; }
  nn::param_arena<B, T>& first_moment() { return m_; }
  nn::param_arena<B, T>& second_moment() { return v_; }

 private:
  adamw_config cfg_;
  nn::param_arena<B, T> m_, v_;
  std::int64_t steps_ = 0;
};

// Scales all gradients so that their global l2 norm is at most max_norm; returns the norm before.
template <backend B, real T>
  requires transformer_ops<B, T>
double clip_grad_norm(B& be, nn::param_arena<B, T>& grads, double max_norm) {
  const double norm = std::sqrt(sum_squares(be, std::as_const(grads).flat()));
  check(std::isfinite(norm), "clip_grad_norm", "gradient norm is not finite (", norm, ")");
  if (max_norm > 0 && norm > max_norm) scale(be, grads.flat(), static_cast<T>(max_norm / (norm + 1e-6)));
  return norm;
}

}  // namespace patchzoo::training
