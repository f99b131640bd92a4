#pragma once
// A packed batch of token sequences: S sequences laid end to end (no padding), with the offsets of
// each sequence's first token. targets[i] is the token that should follow inputs[i], or ignore_index.
#include <cstdint>
#include <vector>

#include "patchzoo/core/tensor.hpp"

namespace patchzoo::nn {

struct token_batch {
  static constexpr std::int32_t ignore_index = -1;

  tensor<std::int32_t> inputs;         // [N]
  tensor<std::int32_t> targets;        // [N]
  std::vector<std::int32_t> offsets;   // S + 1 entries: 0 = o_0 < o_1 < ... < o_S = N

  std::int64_t tokens() const { return inputs.numel(); }
  std::int64_t sequences() const { return static_cast<std::int64_t>(offsets.size()) - 1; }

  // Checks everything a model relies on, naming the offending field and position.
  void validate(std::int64_t vocab, std::int64_t max_seq) const {
    const char* op = "token_batch";
    const std::int64_t n = tokens();
    check(n > 0, op, "inputs are empty");
    check(n < (std::int64_t{1} << 31), op, n, " tokens exceed the int32 offset range");
    check(targets.numel() == n, op, "targets hold ", targets.numel(), " tokens but inputs hold ", n);
    check(offsets.size() >= 2 && offsets.front() == 0 && offsets.back() == n, op,
          "offsets must run from 0 to the token count ", n);
    for (std::size_t s = 1; s < offsets.size(); ++s) {
      const std::int64_t len = offsets[s] - offsets[s - 1];
      check(len > 0, op, "sequence ", s - 1, " is empty (offsets must increase)");
      check(len <= max_seq, op, "sequence ", s - 1, " has ", len, " tokens, more than max_seq ", max_seq);
    }
    for (std::int64_t i = 0; i < n; ++i) {
      check(inputs[i] >= 0 && inputs[i] < vocab, op, "input token ", inputs[i], " at position ", i,
            " is out of range [0, ", vocab, ")");
      check(targets[i] == ignore_index || (targets[i] >= 0 && targets[i] < vocab), op, "target ", targets[i],
            " at position ", i, " is out of range [0, ", vocab, ")");
    }
  }

  // Position of each token within its own sequence (what RoPE rotates by).
  std::vector<std::int64_t> positions() const {
    std::vector<std::int64_t> pos(static_cast<std::size_t>(tokens()));
    for (std::size_t s = 1; s < offsets.size(); ++s)
      for (std::int64_t i = offsets[s - 1]; i < offsets[s]; ++i) pos[i] = i - offsets[s - 1];
    return pos;
  }
};

}  // namespace patchzoo::nn
