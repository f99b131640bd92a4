#pragma once
// Plain parameter structs shared by every backend (POD, so CUDA launchers can take them by value).
#include <cstdint>

namespace patchzoo {

struct conv2d_params {
  int stride = 1;
  int padding = 0;
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
