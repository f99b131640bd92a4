#pragma once
// Every op of the Eigen backend.
#include "patchzoo/backend/eigen/matmul.hpp"
