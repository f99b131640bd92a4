#pragma once
// Fashion-MNIST from the Debian package dataset-fashion-mnist: 60k train / 10k test grey 28x28 images in
// 10 classes, as IDX gz files.
#include <array>
#include <filesystem>
#include <string>

#include "patchzoo/data/idx.hpp"
#include "patchzoo/data/image_dataset.hpp"

namespace patchzoo::data {

inline const std::filesystem::path fashion_mnist_default_dir = "/usr/share/datasets/fashion-mnist";

inline constexpr std::array<const char*, 10> fashion_mnist_classes = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

struct fashion_mnist {
  image_dataset train;  // the official 60k training images
  image_dataset test;   // the official 10k test images
};

// Pairs an images file with its labels file, checking counts, sizes and label values.
inline image_dataset load_idx_images(const std::filesystem::path& images, const std::filesystem::path& labels,
                                     int classes) {
  idx_array img = read_idx(images, 3);
  idx_array lab = read_idx(labels, 1);
  check(img.count() == lab.count(), "load_idx_images", images.string(), " holds ", img.count(), " images but ",
        labels.string(), " holds ", lab.count(), " labels");
  for (std::size_t i = 0; i < lab.data.size(); ++i)
    check(lab.data[i] < classes, "load_idx_images", labels.string(), ": label ", int(lab.data[i]), " at index ", i,
          " is not below ", classes);
  return {img.dims[1], img.dims[2], std::move(img.data), std::move(lab.data)};
}

inline constexpr std::array<const char*, 4> fashion_mnist_files = {
    "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz"};

// Throws, naming the directory and the first missing file, unless dir holds the four IDX files: a command
// calls it before it creates any output, so a wrong --data leaves nothing behind.
inline void check_fashion_mnist_dir(const std::filesystem::path& dir) {
  for (const char* name : fashion_mnist_files)
    check(std::filesystem::is_regular_file(dir / name), "load_fashion_mnist", "no Fashion-MNIST in ", dir.string(),
          " (no ", name, "): install the Debian package dataset-fashion-mnist (scripts/setup does) or pass --data DIR");
}

inline fashion_mnist load_fashion_mnist(const std::filesystem::path& dir = fashion_mnist_default_dir) {
  check_fashion_mnist_dir(dir);
  const auto file = [&](const char* name) { return dir / name; };
  fashion_mnist ds{load_idx_images(file("train-images-idx3-ubyte.gz"), file("train-labels-idx1-ubyte.gz"), 10),
                   load_idx_images(file("t10k-images-idx3-ubyte.gz"), file("t10k-labels-idx1-ubyte.gz"), 10)};
  check(ds.train.rows == 28 && ds.train.cols == 28 && ds.test.rows == 28 && ds.test.cols == 28,
        "load_fashion_mnist", "expected 28x28 images in ", dir.string());
  return ds;
}

}  // namespace patchzoo::data
