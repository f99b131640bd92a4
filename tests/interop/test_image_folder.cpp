// Photographs prepared as LlamaGen prepares them: a Python script draws images of several sizes and modes with
// numpy, saves them with PIL as PNG and JPEG in an ImageFolder layout, and crops each with LlamaGen's
// center_crop_arr (box halving, bicubic, centre crop; written here from its published description). Our
// decode + center_crop_like_llamagen must give PIL's bytes exactly for PNG; JPEG decoders differ (stb vs
// libjpeg), so there the bytes agree to a few levels. Skipped without python3-pil and numpy.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "interop/interop_support.hpp"
#include "patchzoo/data/image_folder.hpp"
#include "support/temp_dir.hpp"

using namespace patchzoo;
using namespace patchzoo::test;

namespace {

// argv: out_dir size. Writes out_dir/images/<class>/<name>.{png,jpg}, and for each image
// out_dir/crops/<name>.raw (PIL's size x size x 3 crop) and a line "<relative path> <name>" in list.txt.
constexpr const char* image_reference_py = R"PY(
import os, sys
import numpy as np
from PIL import Image
out, size = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(7)
def center_crop_arr(pil_image, image_size):
    while min(*pil_image.size) >= 2 * image_size:
        pil_image = pil_image.resize(tuple(x // 2 for x in pil_image.size), resample=Image.BOX)
    scale = image_size / min(*pil_image.size)
    pil_image = pil_image.resize(tuple(round(x * scale) for x in pil_image.size), resample=Image.BICUBIC)
    arr = np.array(pil_image)
    y, x = (arr.shape[0] - image_size) // 2, (arr.shape[1] - image_size) // 2
    return arr[y: y + image_size, x: x + image_size]
def picture(w, h, channels):  # smooth gradients, a few edges and noise: every filter tap matters
    yy, xx = np.mgrid[0:h, 0:w]
    planes = []
    for c in range(channels):
        f = rng.uniform(0.01, 0.08, 2)
        p = 127 + 80 * np.sin(xx * f[0] + c) * np.cos(yy * f[1]) + 40 * ((xx // 37 + yy // 23 + c) % 2)
        planes.append(p + rng.normal(0, 12, (h, w)))
    a = np.clip(np.stack(planes, -1), 0, 255).astype(np.uint8)
    return a[..., 0] if channels == 1 else a
cases = [("cat", "a_wide", 517, 300, "RGB", "png"), ("cat", "b_halved", 1030, 770, "RGB", "png"),
         ("cat", "c_exact", size, size, "RGB", "png"), ("dog", "d_up", 200, 150, "RGB", "png"),
         ("dog", "e_grey", 333, 480, "L", "png"), ("dog", "f_alpha", 400, 290, "RGBA", "png"),
         ("dog/sub", "g_nested", 640, 427, "RGB", "png"), ("dog", "h_photo", 500, 375, "RGB", "jpg"),
         ("cat", "i_big", 2100, 1400, "RGB", "jpg")]
os.makedirs(out + "/crops")
with open(out + "/list.txt", "w") as listing:
    for cls, name, w, h, mode, ext in cases:
        d = out + "/images/" + cls
        os.makedirs(d, exist_ok=True)
        img = Image.fromarray(picture(w, h, {"L": 1, "RGB": 3, "RGBA": 4}[mode]), mode)
        path = d + "/" + name + "." + ext
        img.save(path, quality=92) if ext == "jpg" else img.save(path)
        crop = center_crop_arr(Image.open(path).convert("RGB"), size)
        assert crop.shape == (size, size, 3), crop.shape
        with open(out + "/crops/" + name + ".raw", "wb") as f:
            f.write(np.ascontiguousarray(crop).tobytes())
        listing.write(cls + "/" + name + "." + ext + " " + name + "\n")
with open(out + "/images/cat/README.txt", "w") as f:
    f.write("not an image\n")
)PY";

bool pil_available() {
  static const bool ok = std::system("/usr/bin/python3 -c 'import PIL, numpy' >/dev/null 2>&1") == 0;
  return ok;
}

}  // namespace

TEST_CASE("image folder: ImageFolder order and labels, LlamaGen's center crop equal to PIL's") {
  if (!pil_available()) {
    MESSAGE("skipped: /usr/bin/python3 cannot import PIL and numpy (Debian python3-pil)");
    return;
  }
  const temp_dir dir("image_folder_pil");
  constexpr std::int64_t size = 64;
  write_file_bytes(dir / "reference.py", image_reference_py);
  REQUIRE_MESSAGE(run("/usr/bin/python3 " + quoted(dir / "reference.py") + " " + quoted(dir.path) + " " +
                          std::to_string(size), dir / "reference.log") == 0,
                  read_file_bytes(dir / "reference.log"));

  const auto f = data::list_image_folder(dir / "images");
  CHECK(f.classes == std::vector<std::string>{"cat", "dog"});
  CHECK(f.skipped == 1);  // README.txt
  std::vector<std::string> names;
  for (const auto& p : f.files) names.push_back(p.filename().string());
  // sorted(os.walk()): a class directory's own files first, then its subdirectories'.
  CHECK(names == std::vector<std::string>{"a_wide.png", "b_halved.png", "c_exact.png", "i_big.jpg", "d_up.png",
                                          "e_grey.png", "f_alpha.png", "h_photo.jpg", "g_nested.png"});
  CHECK(f.labels == std::vector<std::int32_t>{0, 0, 0, 0, 1, 1, 1, 1, 1});

  std::ifstream listing(dir / "list.txt");
  std::string rel, name;
  int checked = 0;
  while (listing >> rel >> name) {
    INFO(rel);
    const std::string want = read_file_bytes(dir / "crops" / (name + ".raw"));
    REQUIRE(want.size() == size * size * 3);
    auto d = image::read_image(dir / "images" / rel, 3);
    const auto got = image::center_crop_like_llamagen({d.width, d.height, 3, std::move(d.data)}, size);
    REQUIRE(got.data.size() == want.size());
    int max_diff = 0;
    double sum_diff = 0;
    for (std::size_t i = 0; i < want.size(); ++i) {
      const int diff = std::abs(int(got.data[i]) - int(static_cast<unsigned char>(want[i])));
      max_diff = std::max(max_diff, diff);
      sum_diff += diff;
    }
    const double mean_diff = sum_diff / static_cast<double>(want.size());
    MESSAGE(rel << ": max |ours - PIL| " << max_diff << ", mean " << mean_diff);
    if (rel.ends_with(".png")) {
      CHECK(max_diff == 0);
    } else {
      CHECK(mean_diff < 0.5);  // stb's JPEG decoder against libjpeg's: IDCT and chroma upsampling differ
      CHECK(max_diff <= 8);    // measured: max 2, mean 0.08
    }
    ++checked;

    std::vector<float> planes(static_cast<std::size_t>(3 * size * size));
    data::load_llamagen_image(dir / "images" / rel, size, planes.data());
    const std::size_t px = static_cast<std::size_t>(size * 5 + 7);  // one pixel: channel c of HWC -> plane c
    for (int c = 0; c < 3; ++c)
      CHECK(planes[static_cast<std::size_t>(c * size * size) + px] ==
            (static_cast<float>(got.data[px * 3 + static_cast<std::size_t>(c)]) / 255.0f - 0.5f) / 0.5f);
  }
  CHECK(checked == 9);
  const auto batch = data::load_image_batch(f, 1, 3, size);
  CHECK(batch.shape() == shape_t{2, 3, size, size});

  // Refusals name the file or directory.
  write_file_bytes(dir / "images" / "dog" / "x.webp", "RIFF");
  CHECK_THROWS_WITH_AS(data::list_image_folder(dir / "images"), doctest::Contains("x.webp is a webp image"),
                       patchzoo::error);
  std::filesystem::remove(dir / "images" / "dog" / "x.webp");
  write_file_bytes(dir / "images" / "stray.png", "x");
  CHECK_THROWS_WITH_AS(data::list_image_folder(dir / "images"),
                       doctest::Contains("holds class directories and also images beside them (stray.png)"),
                       patchzoo::error);
  std::filesystem::create_directories(dir / "empty");
  CHECK_THROWS_WITH_AS(data::list_image_folder(dir / "empty"), doctest::Contains("holds no JPEG or PNG images"),
                       patchzoo::error);
  std::filesystem::create_directories(dir / "flat");
  write_file_bytes(dir / "flat" / "broken.jpg", "not a jpeg");
  const auto flat = data::list_image_folder(dir / "flat");
  CHECK(flat.classes == std::vector<std::string>{""});
  CHECK_THROWS_WITH_AS(data::load_image_batch(flat, 0, 1, size), doctest::Contains("broken.jpg is not a readable PNG or JPEG"),
                       patchzoo::error);
}
