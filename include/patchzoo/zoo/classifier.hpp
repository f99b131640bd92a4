#pragma once
// The interface every zoo classifier offers: forward over host images [B, 1, 28, 28] in [0, 1] to
// logits [B, 10], backward into a gradient arena, and penultimate-layer features. Parameters live in
// the classifier; everything a pass computes lives in a caller-owned workspace, so const passes over
// one classifier may run concurrently, each with its own workspace.
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>

#include "patchzoo/backend/concepts.hpp"
#include "patchzoo/core/rng.hpp"
#include "patchzoo/nn/param_arena.hpp"
#include "patchzoo/zoo/architecture.hpp"

namespace patchzoo::zoo {

// Activations of one pass; each classifier derives its own.
struct workspace {
  virtual ~workspace() = default;
};

template <backend B, real T>
class classifier {
 public:
  classifier() = default;
  virtual ~classifier() = default;

  virtual const architecture& spec() const = 0;
  virtual const nn::param_layout& layout() const = 0;
  virtual nn::param_arena<B, T>& params() = 0;
  virtual const nn::param_arena<B, T>& params() const = 0;
  virtual nn::param_arena<B, T>& grads() = 0;

  virtual std::unique_ptr<workspace> make_workspace() const = 0;
  // Logits [B, 10] inside ws, valid until ws is used again.
  virtual const_view<T> forward(B& be, const tensor<T>& images, workspace& ws) const = 0;
  // The gradient of the loss w.r.t. the last forward's logits: the caller fills it, then calls backward.
  virtual tensor_view<T> logits_grad(workspace& ws) const = 0;
  // Accumulates parameter gradients (+=) into grads for the last forward pass in ws.
  virtual void backward(B& be, workspace& ws, nn::param_arena<B, T>& grads) const = 0;
  // The penultimate-layer features [B, F] of the last forward pass in ws.
  virtual const_view<T> features(const workspace& ws) const = 0;

  // Forward multiply-adds x 2 for one image.
  virtual std::int64_t flops() const = 0;
  std::int64_t parameter_count() const { return layout().total(); }

 protected:
  // Move-only like the tensors it owns. Protected: a concrete classifier moves, moving through the base
  // would slice it.
  classifier(classifier&&) = default;
  classifier& operator=(classifier&&) = default;
};

// Weights ~ N(0, 1/fan_in) (fan_in = elements per output row), biases 0, norm gains 1; drawn on the
// host from the counter RNG so that every backend and every run starts from the same bits.
template <backend B, real T>
void initialize_classifier(nn::param_arena<B, T>& arena, std::uint64_t seed) {
  const auto& layout = arena.layout();
  tensor<T> host(shape_t{layout.total()});
  for (const auto& s : layout.slices()) {
    const bool is_bias = s.name.size() >= 5 && s.name.compare(s.name.size() - 5, 5, ".bias") == 0;
    const double std = s.shape.rank >= 2 ? 1.0 / std::sqrt(static_cast<double>(s.shape.numel() / s.shape[0])) : 0.0;
    for (std::int64_t i = 0; i < s.shape.numel(); ++i)
      host[s.offset + i] = s.shape.rank >= 2 ? static_cast<T>(std * normal01(seed, static_cast<std::uint64_t>(s.offset + i)))
                                             : T(is_bias ? 0 : 1);
  }
  B::memory::copy_from_host(arena.flat().data, host.data(), host.bytes());
}

}  // namespace patchzoo::zoo
