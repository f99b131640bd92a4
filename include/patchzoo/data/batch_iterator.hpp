#pragma once
// Mini-batches of an image dataset as float tensors [B, 1, H, W] with int32 labels. Everything random is
// a pure function of (seed, epoch, index) through the counter RNG, so any (epoch, position) can be
// reproduced exactly after a restart with seek().
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

#include "patchzoo/core/rng.hpp"
#include "patchzoo/core/tensor.hpp"
#include "patchzoo/data/image_dataset.hpp"
#include "patchzoo/data/splits.hpp"

namespace patchzoo::data {

enum class pixel_range { zero_one, minus_one_one };

struct image_batch {
  tensor<float> images;         // [B, 1, H, W]
  tensor<std::int32_t> labels;  // [B]
  std::vector<std::int64_t> indices;  // dataset indices of the batch rows
};

namespace batch_detail {

inline float pixel_value(std::uint8_t p, pixel_range range) {
  return range == pixel_range::zero_one ? static_cast<float>(p) * (1.0f / 255.0f)
                                        : static_cast<float>(p) * (2.0f / 255.0f) - 1.0f;
}

// Fills `out` with the images at `indices`; image k is mirrored left-right when flip[k] is set.
inline void fill_batch(image_batch& out, const image_dataset& ds, const std::vector<std::int64_t>& indices,
                       const std::vector<bool>& flip, pixel_range range) {
  const auto b = static_cast<std::int64_t>(indices.size());
  const shape_t image_shape{b, 1, ds.rows, ds.cols}, label_shape{b};
  if (!(out.images.shape() == image_shape)) out.images = tensor<float>(image_shape);
  if (!(out.labels.shape() == label_shape)) out.labels = tensor<std::int32_t>(label_shape);
  out.indices = indices;
  for (std::int64_t k = 0; k < b; ++k) {
    const std::int64_t i = indices[k];
    check(i >= 0 && i < ds.size(), "make_batch", "index ", i, " is out of range [0, ", ds.size(), ")");
    const std::uint8_t* src = ds.image(i);
    float* dst = out.images.data() + k * ds.pixels_per_image();
    for (std::int64_t r = 0; r < ds.rows; ++r)
      for (std::int64_t c = 0; c < ds.cols; ++c) {
        const std::int64_t sc = flip[k] ? ds.cols - 1 - c : c;
        dst[r * ds.cols + c] = pixel_value(src[r * ds.cols + sc], range);
      }
    out.labels[k] = ds.labels[static_cast<std::size_t>(i)];
  }
}

// A 64-bit key for one (seed, epoch, purpose) triple: purpose 0 orders the epoch, 1 draws its flips.
inline std::uint64_t epoch_key(std::uint64_t seed, std::int64_t epoch, std::uint64_t purpose) {
  const philox_block b = philox4x32(seed, static_cast<std::uint64_t>(epoch) * 2 + purpose);
  return (static_cast<std::uint64_t>(b.v[1]) << 32) | b.v[0];
}

}  // namespace batch_detail

// The images at `indices`, in that order, without augmentation.
inline image_batch make_batch(const image_dataset& ds, const std::vector<std::int64_t>& indices,
                              pixel_range range = pixel_range::zero_one) {
  image_batch out;
  batch_detail::fill_batch(out, ds, indices, std::vector<bool>(indices.size(), false), range);
  return out;
}

enum class batch_order { in_order, shuffled };  // shuffled: a fresh permutation every epoch

struct batch_options {
  pixel_range range = pixel_range::zero_one;
  bool horizontal_flip = false;  // each image flipped with probability 1/2, per epoch
  bool drop_last = false;        // skip an epoch's last, partial batch
};

class batch_iterator {
 public:
  batch_iterator(const image_dataset& ds, std::int64_t batch_size, batch_order order, std::uint64_t seed,
                 batch_options options = {})
      : ds_(ds), batch_size_(batch_size), shuffle_(order == batch_order::shuffled), seed_(seed),
        range_(options.range), flip_(options.horizontal_flip), drop_last_(options.drop_last) {
    check(batch_size > 0, "batch_iterator", "batch size ", batch_size, " must be positive");
    check(ds.size() > 0, "batch_iterator", "the dataset is empty");
    check(batches_per_epoch() > 0, "batch_iterator", "batch size ", batch_size, " exceeds the ", ds.size(),
          " images and drop_last leaves no batch");
    start_epoch(0, 0);
  }

  // The next batch of the current epoch. Returns false at the end of an epoch (leaving `out` untouched);
  // the iterator has then moved to the next epoch, position 0, with its own permutation and flips.
  bool next(image_batch& out) {
    if (position_ == batches_per_epoch()) {
      start_epoch(epoch_ + 1, 0);
      return false;
    }
    const std::int64_t begin = position_ * batch_size_;
    const std::int64_t end = std::min(begin + batch_size_, ds_.size());
    std::vector<std::int64_t> indices(order_.begin() + begin, order_.begin() + end);
    std::vector<bool> flip(indices.size(), false);
    if (flip_) {
      const std::uint64_t key = batch_detail::epoch_key(seed_, epoch_, 1);
      for (std::size_t k = 0; k < indices.size(); ++k)
        flip[k] = uniform01(key, static_cast<std::uint64_t>(indices[k])) < 0.5f;
    }
    batch_detail::fill_batch(out, ds_, indices, flip, range_);
    ++position_;
    return true;
  }

  std::int64_t epoch() const { return epoch_; }
  std::int64_t batches_per_epoch() const {
    return drop_last_ ? ds_.size() / batch_size_ : (ds_.size() + batch_size_ - 1) / batch_size_;
  }
  // Batches already served in the current epoch; with epoch() this is the whole resumable state.
  std::int64_t position() const { return position_; }
  void seek(std::int64_t epoch, std::int64_t position) {
    check(epoch >= 0 && position >= 0 && position <= batches_per_epoch(), "batch_iterator::seek", "epoch ", epoch,
          " position ", position, " is outside [0, ", batches_per_epoch(), "]");
    start_epoch(epoch, position);
  }

 private:
  void start_epoch(std::int64_t epoch, std::int64_t position) {
    epoch_ = epoch;
    position_ = position;
    if (shuffle_) {
      order_ = seeded_permutation(ds_.size(), batch_detail::epoch_key(seed_, epoch, 0));
    } else {
      order_.resize(static_cast<std::size_t>(ds_.size()));
      std::iota(order_.begin(), order_.end(), 0);
    }
  }

  const image_dataset& ds_;
  std::int64_t batch_size_;
  bool shuffle_;
  std::uint64_t seed_;
  pixel_range range_;
  bool flip_, drop_last_;
  std::int64_t epoch_ = 0, position_ = 0;
  std::vector<std::int64_t> order_;
};

}  // namespace patchzoo::data
