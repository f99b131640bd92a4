#pragma once
// The one place that includes Eigen, plus the row-major map types and the OpenMP helpers every Eigen op uses.
#include <Eigen/Core>
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "patchzoo/core/tensor_view.hpp"

namespace patchzoo::eigen_detail {

template <class T>
using row_matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using matrix_map = Eigen::Map<row_matrix<T>>;
template <class T>
using const_matrix_map = Eigen::Map<const row_matrix<T>>;
// Rows that sit `stride` elements apart: one head of a [tokens, heads, head_dim] tensor.
template <class T>
using strided_map = Eigen::Map<row_matrix<T>, 0, Eigen::OuterStride<>>;
template <class T>
using const_strided_map = Eigen::Map<const row_matrix<T>, 0, Eigen::OuterStride<>>;
template <class T>
using array_map = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <class T>
using const_array_map = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

// A contiguous view as a rows x cols row-major matrix (no copy).
template <class T>
matrix_map<T> as_matrix(const tensor_view<T>& v, std::int64_t rows, std::int64_t cols) {
  return matrix_map<T>(v.data, rows, cols);
}
template <class T>
const_matrix_map<T> as_matrix(const const_view<T>& v, std::int64_t rows, std::int64_t cols) {
  return const_matrix_map<T>(v.data, rows, cols);
}

// Called first inside our own parallel regions before any GEMM: OpenMP OpenBLAS sizes its team from
// omp_get_max_threads(), and a nested team would split each small product across threads that are
// already busy. Setting this thread's ICV to 1 lasts until the region ends; a region that runs on a
// single thread keeps BLAS threading.
inline void single_threaded_blas() {
  if (omp_get_num_threads() > 1) omp_set_num_threads(1);
}

// Below this many elements of work a thread team costs more than it saves.
inline constexpr std::int64_t parallel_threshold = 32768;

// body(begin, end) over [0, n) in one contiguous chunk per thread; threads only when `work` is large.
template <class Body>
void parallel_for(std::int64_t n, std::int64_t work, Body&& body) {
  if (n <= 0) return;
  if (work <= parallel_threshold || omp_in_parallel() || omp_get_max_threads() == 1) {
    body(std::int64_t{0}, n);
    return;
  }
#pragma omp parallel
  {
    const std::int64_t threads = omp_get_num_threads(), id = omp_get_thread_num();
    const std::int64_t begin = n * id / threads, end = n * (id + 1) / threads;
    if (begin < end) body(begin, end);
  }
}

// Column reductions over rows: body(begin, end, acc) adds rows [begin, end) into its own zeroed
// acc[width]; the partials are summed in thread order, so the result does not depend on timing.
template <class Body>
std::vector<double> parallel_row_reduce(std::int64_t rows, std::int64_t work, std::int64_t width, Body&& body) {
  const int threads = (work <= parallel_threshold || omp_in_parallel()) ? 1 : omp_get_max_threads();
  std::vector<double> partial(static_cast<std::size_t>(threads * width), 0.0);
  if (threads == 1) {
    if (rows > 0) body(std::int64_t{0}, rows, partial.data());
    return partial;
  }
#pragma omp parallel num_threads(threads)
  {
    const std::int64_t count = omp_get_num_threads(), id = omp_get_thread_num();
    const std::int64_t begin = rows * id / count, end = rows * (id + 1) / count;
    if (begin < end) body(begin, end, partial.data() + id * width);
  }
  for (int t = 1; t < threads; ++t)
    for (std::int64_t j = 0; j < width; ++j) partial[j] += partial[t * width + j];
  partial.resize(static_cast<std::size_t>(width));
  return partial;
}

}  // namespace patchzoo::eigen_detail
