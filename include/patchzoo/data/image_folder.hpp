#pragma once
// A directory of JPEG / PNG photographs as LlamaGen reads ImageNet: torchvision's ImageFolder layout (one
// subdirectory per class, sorted by name, class k = the k-th; files found recursively, in sorted order),
// or a flat directory of images (all class 0). Each image is prepared as LlamaGen's extract_codes does:
// decoded to RGB, center_crop_like_llamagen to size x size, then ToTensor and Normalize(0.5, 0.5), giving
// [3, size, size] planes in [-1, 1].
//   image_folder f = list_image_folder("imagenet/val");
//   tensor<float> x = load_image_batch(f, 0, 8, 256);   // images 0..7 as [8, 3, 256, 256]
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "patchzoo/core/error.hpp"
#include "patchzoo/core/tensor.hpp"
#include "patchzoo/image/image_reader.hpp"
#include "patchzoo/image/pil_resize.hpp"

namespace patchzoo::data {

struct image_folder {
  std::filesystem::path root;
  std::vector<std::string> classes;             // class k's directory name ("" for a flat directory)
  std::vector<std::filesystem::path> files;     // in load order
  std::vector<std::int32_t> labels;             // per file
  std::int64_t skipped = 0;                     // files that are not images (README, .DS_Store, ...)

  std::int64_t size() const { return static_cast<std::int64_t>(files.size()); }
};

namespace image_folder_detail {

inline std::string lower_extension(const std::filesystem::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return e;
}

// ImageFolder's image extensions: the ones stb decodes here, and the rest, which are refused by name
// rather than silently left out of a data set.
inline bool readable(const std::string& e) { return e == ".jpg" || e == ".jpeg" || e == ".png"; }
inline bool unreadable_image(const std::string& e) {
  return e == ".webp" || e == ".tif" || e == ".tiff" || e == ".bmp" || e == ".ppm" || e == ".pgm";
}

// Images under `dir`, in sorted(os.walk(dir)) order: by containing directory, then by file name.
inline std::vector<std::filesystem::path> images_under(const std::filesystem::path& dir, std::int64_t& skipped) {
  namespace fs = std::filesystem;
  std::vector<std::pair<std::string, std::string>> found;  // (directory, name)
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::follow_directory_symlink);
       it != fs::recursive_directory_iterator(); ++it) {
    if (!it->is_regular_file()) continue;
    const std::string e = lower_extension(it->path());
    check(!unreadable_image(e), "image_folder", it->path().string(), " is a ", e.substr(1),
          " image; patchzoo reads JPEG and PNG (convert it, or move it out of ", dir.string(), ")");
    if (!readable(e)) {
      ++skipped;
      continue;
    }
    found.emplace_back(it->path().parent_path().string(), it->path().filename().string());
  }
  std::sort(found.begin(), found.end());
  std::vector<fs::path> out;
  for (const auto& [d, n] : found) out.push_back(fs::path(d) / n);
  return out;
}

}  // namespace image_folder_detail

inline image_folder list_image_folder(const std::filesystem::path& root) {
  namespace fs = std::filesystem;
  using namespace image_folder_detail;
  check(fs::is_directory(root), "image_folder", root.string(), " is not a directory");
  image_folder f{root, {}, {}, {}, 0};
  std::vector<std::string> dirs;
  std::vector<fs::path> top_images;
  for (const auto& e : fs::directory_iterator(root, fs::directory_options::follow_directory_symlink)) {
    if (e.is_directory()) {
      dirs.push_back(e.path().filename().string());
    } else if (e.is_regular_file()) {
      const std::string ext = lower_extension(e.path());
      check(!unreadable_image(ext), "image_folder", e.path().string(), " is a ", ext.substr(1),
            " image; patchzoo reads JPEG and PNG");
      if (readable(ext)) top_images.push_back(e.path());
      else ++f.skipped;
    }
  }
  if (dirs.empty()) {
    f.classes = {""};
    f.files = images_under(root, f.skipped);
    f.labels.assign(f.files.size(), 0);
  } else {
    std::sort(top_images.begin(), top_images.end());
    check(top_images.empty(), "image_folder", root.string(), " holds class directories and also images beside them (",
          top_images.empty() ? std::string() : top_images.front().filename().string(),
          "): put every image in its class directory, or use a directory without subdirectories");
    std::sort(dirs.begin(), dirs.end());
    check(dirs.size() <= 65536, "image_folder", root.string(), " has ", dirs.size(),
          " class directories; token files hold at most 65536 classes");
    f.classes = dirs;  // class k is the k-th directory, with images or not, as in ImageFolder's class_to_idx
    for (std::size_t k = 0; k < dirs.size(); ++k) {
      const auto files = images_under(root / dirs[k], f.skipped);
      f.files.insert(f.files.end(), files.begin(), files.end());
      f.labels.insert(f.labels.end(), files.size(), static_cast<std::int32_t>(k));
    }
  }
  check(!f.files.empty(), "image_folder", root.string(), " holds no JPEG or PNG images");
  return f;
}

// One image as LlamaGen's tokenizer sees it: [3, size, size] planes in [-1, 1], written to `out`.
inline void load_llamagen_image(const std::filesystem::path& file, std::int64_t size, float* out) {
  image::decoded_image d = image::read_image(file, 3);
  const auto img = image::center_crop_like_llamagen({d.width, d.height, 3, std::move(d.data)}, size);
  const std::int64_t plane = size * size;
  for (std::int64_t i = 0; i < plane; ++i)
    for (int c = 0; c < 3; ++c) {
      const float unit = static_cast<float>(img.data[static_cast<std::size_t>(i * 3 + c)]) / 255.0f;  // ToTensor
      out[c * plane + i] = (unit - 0.5f) / 0.5f;                                                    // Normalize
    }
}

// Images [begin, end) of the folder as [end - begin, 3, size, size].
inline tensor<float> load_image_batch(const image_folder& f, std::int64_t begin, std::int64_t end, std::int64_t size) {
  check(begin >= 0 && begin < end && end <= f.size(), "load_image_batch", "range [", begin, ", ", end,
        ") is not inside the folder's ", f.size(), " images");
  tensor<float> out(shape_t{end - begin, 3, size, size});
  for (std::int64_t i = begin; i < end; ++i)
    load_llamagen_image(f.files[static_cast<std::size_t>(i)], size, out.data() + (i - begin) * 3 * size * size);
  return out;
}

}  // namespace patchzoo::data
