#pragma once
// The one place that includes Eigen, plus the row-major map types every Eigen op uses.
#include <Eigen/Core>

#include "patchzoo/core/tensor_view.hpp"

namespace patchzoo::eigen_detail {

template <class T>
using row_matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using matrix_map = Eigen::Map<row_matrix<T>>;
template <class T>
using const_matrix_map = Eigen::Map<const row_matrix<T>>;

// A contiguous view as a rows x cols row-major matrix (no copy).
template <class T>
matrix_map<T> as_matrix(const tensor_view<T>& v, std::int64_t rows, std::int64_t cols) {
  return matrix_map<T>(v.data, rows, cols);
}
template <class T>
const_matrix_map<T> as_matrix(const const_view<T>& v, std::int64_t rows, std::int64_t cols) {
  return const_matrix_map<T>(v.data, rows, cols);
}

}  // namespace patchzoo::eigen_detail
