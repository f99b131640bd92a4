#pragma once
// Plain parameter structs shared by every backend (POD, so CUDA launchers can take them by value).
#include <cstdint>

namespace patchzoo {

struct conv2d_params {
  int stride = 1;
  int padding = 0;
};

// Zero padding of the two spatial dims by separate amounts per side (pad2d). LlamaGen's Downsample pads
// (left 0, right 1, top 0, bottom 1) -- torch's F.pad(x, (0, 1, 0, 1)), here {0, 1, 0, 1} in the order
// top, bottom, left, right -- before a stride-2 3x3 conv without padding.
// Why a separate op, not per-side paddings in conv2d_params: conv2d_params' one symmetric `padding` is
// shared by conv2d and conv_transpose2d (where it crops), by both output-size formulas, the im2col of the
// eigen backend and the CUDA kernels; all other convs in the library and in LlamaGen are symmetric, so a
// pad op (backward = crop) adds the one asymmetric case without touching them, for one copy of the
// Downsample input.
struct pad2d_params {
  int top = 0;
  int bottom = 0;
  int left = 0;
  int right = 0;
};

struct pool2d_params {
  int kernel = 2;
  int stride = 2;
};

struct adamw_params {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  double weight_decay = 0.0;  // callers pass 0 for tensors of rank < 2
};

}  // namespace patchzoo
