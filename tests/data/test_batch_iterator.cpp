#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "patchzoo/data/batch_iterator.hpp"

using namespace patchzoo;
using namespace patchzoo::data;

namespace {

// n images of 3x4 whose pixel (r, c) of image i is 10 * i + 4 * r + c (so each image names its index
// and its orientation); label i % 10.
image_dataset numbered_images(std::int64_t n) {
  image_dataset ds{3, 4, {}, {}};
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t p = 0; p < 12; ++p) ds.pixels.push_back(static_cast<std::uint8_t>(10 * i + p));
    ds.labels.push_back(static_cast<std::uint8_t>(i % 10));
  }
  return ds;
}

std::vector<std::vector<std::int64_t>> epoch_indices(batch_iterator& it) {
  std::vector<std::vector<std::int64_t>> batches;
  image_batch b;
  while (it.next(b)) batches.push_back(b.indices);
  return batches;
}

}  // namespace

TEST_CASE("make_batch: shapes, values in both pixel ranges, labels and order") {
  const image_dataset ds = numbered_images(5);
  const image_batch b = make_batch(ds, {3, 0}, pixel_range::zero_one);
  CHECK(b.images.shape() == shape_t{2, 1, 3, 4});
  CHECK(b.labels.to_vector() == std::vector<std::int32_t>{3, 0});
  CHECK(b.indices == std::vector<std::int64_t>{3, 0});
  CHECK(b.images[0] == doctest::Approx(30.0 / 255.0));
  CHECK(b.images[11] == doctest::Approx(41.0 / 255.0));
  CHECK(b.images[12] == doctest::Approx(0.0));
  const image_batch m = make_batch(ds, {4}, pixel_range::minus_one_one);
  CHECK(m.images[0] == doctest::Approx(40.0 / 127.5 - 1.0));
  image_dataset extremes{1, 2, {0, 255}, {0}};
  const image_batch e = make_batch(extremes, {0}, pixel_range::minus_one_one);
  CHECK(e.images.to_vector() == std::vector<float>{-1.0f, 1.0f});
  CHECK_THROWS_WITH_AS(make_batch(ds, {5}), doctest::Contains("index 5 is out of range [0, 5)"), patchzoo::error);
}

TEST_CASE("batch_iterator without shuffle: dataset order, partial last batch, epoch end") {
  const image_dataset ds = numbered_images(10);
  batch_iterator it(ds, 4, batch_order::in_order, 1);
  CHECK(it.batches_per_epoch() == 3);
  image_batch b;
  REQUIRE(it.next(b));
  CHECK(b.indices == std::vector<std::int64_t>{0, 1, 2, 3});
  REQUIRE(it.next(b));
  REQUIRE(it.next(b));
  CHECK(b.indices == std::vector<std::int64_t>{8, 9});
  CHECK(b.images.shape() == shape_t{2, 1, 3, 4});
  CHECK(it.epoch() == 0);
  CHECK(it.position() == 3);
  CHECK_FALSE(it.next(b));
  CHECK(it.epoch() == 1);
  CHECK(it.position() == 0);
  REQUIRE(it.next(b));
  CHECK(b.indices == std::vector<std::int64_t>{0, 1, 2, 3});
}

TEST_CASE("batch_iterator drop_last serves only full batches") {
  const image_dataset ds = numbered_images(10);
  batch_iterator it(ds, 4, batch_order::shuffled, 7, {.drop_last = true});
  CHECK(it.batches_per_epoch() == 2);
  const auto batches = epoch_indices(it);
  REQUIRE(batches.size() == 2);
  for (const auto& b : batches) CHECK(b.size() == 4);
  CHECK_THROWS_WITH_AS(batch_iterator(ds, 11, batch_order::shuffled, 7, {.drop_last = true}),
                       doctest::Contains("drop_last leaves no batch"), patchzoo::error);
  CHECK_THROWS_WITH_AS(batch_iterator(ds, 0, batch_order::shuffled, 7), doctest::Contains("batch size 0 must be positive"),
                       patchzoo::error);
}

TEST_CASE("batch_iterator shuffle: each epoch is a permutation, epochs differ, seeds reproduce") {
  const image_dataset ds = numbered_images(50);
  batch_iterator a(ds, 8, batch_order::shuffled, 42), same(ds, 8, batch_order::shuffled, 42), other(ds, 8, batch_order::shuffled, 43);
  const auto e0 = epoch_indices(a), e1 = epoch_indices(a);
  std::vector<std::int64_t> flat0, flat1;
  for (const auto& b : e0) flat0.insert(flat0.end(), b.begin(), b.end());
  for (const auto& b : e1) flat1.insert(flat1.end(), b.begin(), b.end());
  std::vector<std::int64_t> sorted = flat0;
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::int64_t> all(50);
  std::iota(all.begin(), all.end(), 0);
  CHECK(sorted == all);
  CHECK(flat0 != all);
  CHECK(flat0 != flat1);
  CHECK(epoch_indices(same) == e0);
  CHECK(epoch_indices(other) != e0);
}

TEST_CASE("batch_iterator seek resumes the exact batch sequence") {
  const image_dataset ds = numbered_images(30);
  batch_iterator run(ds, 4, batch_order::shuffled, 9, {.range = pixel_range::minus_one_one, .horizontal_flip = true});
  image_batch b;
  epoch_indices(run);
  for (int k = 0; k < 3; ++k) REQUIRE(run.next(b));
  const std::int64_t epoch = run.epoch(), position = run.position();
  CHECK(epoch == 1);
  CHECK(position == 3);
  REQUIRE(run.next(b));
  const std::vector<float> expected = b.images.to_vector();
  const std::vector<std::int64_t> expected_indices = b.indices;

  batch_iterator resumed(ds, 4, batch_order::shuffled, 9, {.range = pixel_range::minus_one_one, .horizontal_flip = true});
  resumed.seek(epoch, position);
  image_batch r;
  REQUIRE(resumed.next(r));
  CHECK(r.indices == expected_indices);
  CHECK(r.images.to_vector() == expected);
  CHECK_THROWS_WITH_AS(resumed.seek(0, 9), doctest::Contains("position 9 is outside [0, 8]"), patchzoo::error);
}

namespace {

// Byte (r, c) of numbered image i (the bytes wrap at 256), and a [0, 1] batch pixel back as a byte.
long numbered_pixel(std::int64_t i, std::int64_t r, std::int64_t c) {
  return static_cast<std::uint8_t>(10 * i + 4 * r + c);
}
long as_byte(float v) { return std::lround(v * 255.0f); }

std::set<std::int64_t> flipped_rows(const image_batch& b) {
  std::set<std::int64_t> flipped;
  for (std::int64_t k = 0; k < b.images.dim(0); ++k) {
    const std::int64_t i = b.indices[static_cast<std::size_t>(k)];
    const float* img = b.images.data() + k * 12;
    const bool mirrored = as_byte(img[0]) == numbered_pixel(i, 0, 3);
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 4; ++c) REQUIRE(as_byte(img[r * 4 + c]) == numbered_pixel(i, r, mirrored ? 3 - c : c));
    if (mirrored) flipped.insert(i);
  }
  return flipped;
}

}  // namespace

TEST_CASE("batch_iterator horizontal flip: mirrored rows, about half flipped, keyed on (seed, epoch, index)") {
  const image_dataset ds = numbered_images(200);
  batch_iterator it(ds, 200, batch_order::in_order, 5, {.horizontal_flip = true});
  image_batch b;
  REQUIRE(it.next(b));
  const std::set<std::int64_t> epoch0 = flipped_rows(b);
  CHECK(epoch0.size() > 70);
  CHECK(epoch0.size() < 130);

  CHECK_FALSE(it.next(b));
  REQUIRE(it.next(b));
  CHECK(flipped_rows(b) != epoch0);  // a fresh coin per epoch

  batch_iterator again(ds, 200, batch_order::in_order, 5, {.horizontal_flip = true});
  REQUIRE(again.next(b));
  CHECK(flipped_rows(b) == epoch0);

  batch_iterator shuffled(ds, 16, batch_order::shuffled, 5, {.horizontal_flip = true});
  std::set<std::int64_t> shuffled_flips;
  while (shuffled.next(b))
    for (std::int64_t i : flipped_rows(b)) shuffled_flips.insert(i);
  CHECK(shuffled_flips == epoch0);  // the coin depends on the index, not the batch position

  batch_iterator plain(ds, 200, batch_order::in_order, 5);
  REQUIRE(plain.next(b));
  CHECK(flipped_rows(b).empty());
}
