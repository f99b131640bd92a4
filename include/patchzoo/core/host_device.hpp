#pragma once
// Marks functions that CUDA kernels may call too (RNG, small math); plain inline under g++.
#if defined(__CUDACC__)
#define PZ_HOST_DEVICE __host__ __device__
#else
#define PZ_HOST_DEVICE
#endif
