#pragma once
// The seeded order in which a trainer visits the images of a token file: a fresh permutation every epoch
// (a pure function of seed and epoch), whole batches only (an epoch's last partial batch is skipped), and a
// position (epoch, index) that a checkpoint stores so that a resumed run sees the same batches.
#include <cstdint>
#include <numeric>
#include <vector>

#include "patchzoo/core/error.hpp"
#include "patchzoo/core/rng.hpp"

namespace patchzoo::dpar {

class token_order {
 public:
  token_order(std::int64_t count, std::int64_t batch, std::uint64_t seed) : count_(count), batch_(batch), seed_(seed) {
    check(batch >= 1 && count >= batch, "token_order", "batch ", batch, " needs at least that many images, the file has ",
          count);
    shuffle();
  }

  // Indices of the next batch; starts a new epoch when fewer than `batch` images are left.
  std::vector<std::int64_t> next() {
    if (position_ + batch_ > count_) {
      ++epoch_;
      position_ = 0;
      shuffle();
    }
    std::vector<std::int64_t> out(order_.begin() + position_, order_.begin() + position_ + batch_);
    position_ += batch_;
    return out;
  }

  std::int64_t epoch() const { return epoch_; }
  std::int64_t position() const { return position_; }

  void seek(std::int64_t epoch, std::int64_t position) {
    check(epoch >= 0 && position >= 0 && position <= count_, "token_order::seek", "position ", position, " of epoch ",
          epoch, " is outside [0, ", count_, "]");
    epoch_ = epoch;
    position_ = position;
    shuffle();
  }

 private:
  void shuffle() {  // Fisher-Yates from a counter RNG keyed by (seed, epoch)
    order_.resize(static_cast<std::size_t>(count_));
    std::iota(order_.begin(), order_.end(), 0);
    rng_stream r(seed_ * 0x9E3779B97F4A7C15ull + static_cast<std::uint64_t>(epoch_) + 1);
    for (std::int64_t i = count_ - 1; i > 0; --i)
      std::swap(order_[static_cast<std::size_t>(i)], order_[r.below(static_cast<std::uint64_t>(i + 1))]);
  }

  std::int64_t count_, batch_;
  std::uint64_t seed_;
  std::int64_t epoch_ = 0, position_ = 0;
  std::vector<std::int64_t> order_;
};

}  // namespace patchzoo::dpar
