#pragma once
// The attacker's own images: an unlabeled query pool and a labelled evaluation set, both drawn from
// Fashion-MNIST images the victim zoo never trained on.
//
// The zoo trains on make_splits(60000, 5000, zoo_seed).train of the official training set (docs/zoo.md);
// its 5000 validation (profiling) images and the official 10k test set are unseen by every model.
//   pool       = the profiling images + a seeded half of the test set (10000 images by default), in a
//                seeded order, so a budget of n queries uses the first n entries;
//   evaluation = the other half of the test set (5000 images), for accuracy and fidelity.
// The two never share an image (tested by index). The pool's true labels are returned only for analysis;
// an attacker queries the victim for its labels.
//
//   attacker_split make_attacker_split(const attacker_split_config&);
//   labelled_images load_images(const data::fashion_mnist&, const std::vector<image_ref>&, count = all);
#include <cstdint>
#include <vector>

#include "patchzoo/core/error.hpp"
#include "patchzoo/core/rng.hpp"
#include "patchzoo/core/tensor.hpp"
#include "patchzoo/data/batch_iterator.hpp"
#include "patchzoo/data/fashion_mnist.hpp"
#include "patchzoo/data/splits.hpp"

namespace patchzoo::attack {

enum class image_source { official_train, official_test };

// One image of Fashion-MNIST: which official file, and its index there.
struct image_ref {
  image_source source = image_source::official_test;
  std::int64_t index = 0;
  bool operator==(const image_ref&) const = default;
};

struct attacker_split_config {
  std::int64_t train_images = 60000;     // official training set size
  std::int64_t test_images = 10000;      // official test set size
  std::int64_t profiling_images = 5000;  // the zoo's held-out split: make_splits(train, profiling, zoo_seed)
  std::uint64_t zoo_seed = 1;            // zoo.json "seed"
  std::int64_t evaluation_images = 5000; // taken from the test set; the rest of the test set joins the pool
  std::uint64_t seed = 0;                // the attacker's: which test images go where, and the pool order
};

struct attacker_split {
  std::vector<image_ref> pool;        // queried in this order
  std::vector<image_ref> evaluation;
};

inline attacker_split make_attacker_split(const attacker_split_config& c) {
  check(c.test_images > 0 && c.evaluation_images > 0 && c.evaluation_images <= c.test_images, "make_attacker_split",
        "evaluation_images ", c.evaluation_images, " must be in [1, test_images = ", c.test_images, "]");
  const data::dataset_splits zoo_splits = data::make_splits(c.train_images, c.profiling_images, c.zoo_seed);
  // Independent streams for the test-set cut (purpose 0) and the pool order (purpose 1), from the attacker's seed.
  const auto stream_key = [&](std::uint64_t purpose) {
    const philox_block b = philox4x32(c.seed, purpose);
    return (static_cast<std::uint64_t>(b.v[1]) << 32) | b.v[0];
  };
  const auto test_order = data::seeded_permutation(c.test_images, stream_key(0));
  attacker_split s;
  std::vector<image_ref> unordered;
  for (const std::int64_t i : zoo_splits.validation) unordered.push_back({image_source::official_train, i});
  for (std::int64_t k = 0; k < c.test_images; ++k) {
    const image_ref r{image_source::official_test, test_order[static_cast<std::size_t>(k)]};
    (k < c.evaluation_images ? s.evaluation : unordered).push_back(r);
  }
  const auto pool_order = data::seeded_permutation(static_cast<std::int64_t>(unordered.size()),
                                                   stream_key(1));
  s.pool.reserve(unordered.size());
  for (const std::int64_t k : pool_order) s.pool.push_back(unordered[static_cast<std::size_t>(k)]);
  return s;
}

struct labelled_images {
  tensor<float> images;         // [N, 1, 28, 28] in [0, 1]
  tensor<std::int32_t> labels;  // [N], the true classes
};

// The first `count` images of refs (all of them when count < 0), in order.
inline labelled_images load_images(const data::fashion_mnist& ds, const std::vector<image_ref>& refs,
                                   std::int64_t count = -1) {
  const auto available = static_cast<std::int64_t>(refs.size());
  if (count < 0) count = available;
  check(count > 0 && count <= available, "attack::load_images", "asked for ", count, " images but the list holds ",
        available);
  std::vector<std::int64_t> train_rows, test_rows;
  for (std::int64_t k = 0; k < count; ++k) {
    const image_ref& r = refs[static_cast<std::size_t>(k)];
    (r.source == image_source::official_train ? train_rows : test_rows).push_back(k);
  }
  // Gather per source, then scatter back into the order of refs.
  const auto gather = [&](const data::image_dataset& source, const std::vector<std::int64_t>& rows) {
    std::vector<std::int64_t> indices;
    for (const std::int64_t k : rows) indices.push_back(refs[static_cast<std::size_t>(k)].index);
    return rows.empty() ? data::image_batch{} : data::make_batch(source, indices);
  };
  const data::image_batch from_train = gather(ds.train, train_rows), from_test = gather(ds.test, test_rows);
  const std::int64_t side = ds.test.rows, pixels = ds.test.pixels_per_image();
  check(ds.train.rows == side && ds.train.cols == ds.test.cols, "attack::load_images",
        "training and test images differ in size");
  labelled_images out{tensor<float>(shape_t{count, 1, side, ds.test.cols}), tensor<std::int32_t>(shape_t{count})};
  const auto scatter = [&](const data::image_batch& b, const std::vector<std::int64_t>& rows) {
    for (std::size_t j = 0; j < rows.size(); ++j) {
      const auto k = rows[j];
      std::copy(b.images.data() + static_cast<std::int64_t>(j) * pixels,
                b.images.data() + static_cast<std::int64_t>(j + 1) * pixels, out.images.data() + k * pixels);
      out.labels[k] = b.labels[static_cast<std::int64_t>(j)];
    }
  };
  scatter(from_train, train_rows);
  scatter(from_test, test_rows);
  return out;
}

}  // namespace patchzoo::attack
