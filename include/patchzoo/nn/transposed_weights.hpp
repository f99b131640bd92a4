#pragma once
// Transposed copies of a model's linear weights for KV-cached decoding, on backends that multiply a few
// rows faster by W^T stored [in, out] than by W [out, in]: the eigen backend from 9 rows (from 2 where the
// model's weights fit its decode cache budget), where its broadcast GEMM streams W^T and sgemm would
// repack W on every call. Copies are made on first use and are a snapshot: they do not follow later
// changes to the weights, so a decode state that holds them must not outlive a training step.
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "patchzoo/nn/decode_cache_budget.hpp"
#include "patchzoo/nn/param_arena.hpp"
#include "patchzoo/ops/linear.hpp"

namespace patchzoo::nn {

// A backend says from how many rows x W goes faster than x W^T by naming transposed_weight_min_rows (the
// weights streaming from memory at every step) and transposed_weight_min_rows_cached (weights that fit
// its decode cache budget, so they stay in cache from step to step).
template <class B>
concept prefers_transposed_weights = requires {
  { B::transposed_weight_min_rows } -> std::convertible_to<std::int64_t>;
  { B::transposed_weight_min_rows_cached } -> std::convertible_to<std::int64_t>;
};

template <backend B, real T>
class transposed_weights {
 public:
  // Weight w of p, for x W^T over `rows` rows: its transposed copy where the backend prefers one.
  linear_weight<T> get(B& be, const param_arena<B, T>& p, std::size_t w, std::int64_t rows) {
    if constexpr (prefers_transposed_weights<B>) {
      const bool cached = fits_decode_cache<B>(p.bytes());
      if (rows >= (cached ? B::transposed_weight_min_rows_cached : B::transposed_weight_min_rows)) {
        if (copies_.size() <= w) copies_.resize(w + 1);
        auto& copy = copies_[w];
        if (copy.empty()) {
          const const_view<T> weight = p[w];
          expect_rank("transposed_weights", "weight", weight, 2);
          const std::int64_t out = weight.dim(0), in = weight.dim(1);
          copy = tensor_on<B, T>(shape_t{in, out});
          transpose_last2(be, copy.view().reshape(shape_t{1, in, out}), weight.reshape(shape_t{1, out, in}), false);
        }
        return linear_weight<T>::transposed_copy(copy.cview());
      }
    }
    return p[w];
  }

 private:
  std::vector<tensor_on<B, T>> copies_;  // by parameter index; empty where not made
};

// Weight w of p for x W^T over `rows` rows: through `transposed` when the caller keeps copies (decoding),
// else as stored.
template <backend B, real T>
linear_weight<T> weight_for(B& be, const param_arena<B, T>& p, std::size_t w, std::int64_t rows,
                            transposed_weights<B, T>* transposed) {
  return transposed ? transposed->get(be, p, w, rows) : linear_weight<T>(p[w]);
}

}  // namespace patchzoo::nn
