#pragma once
// Every op of the xtensor reference backend.
#include "patchzoo/backend/xtensor/elementwise.hpp"
#include "patchzoo/backend/xtensor/matmul.hpp"
