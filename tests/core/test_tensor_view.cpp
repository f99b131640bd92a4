// Core types: shape_t, tensor_view reshape / slice_rows, owning tensor copies and moves.
#include <doctest/doctest.h>

#include <vector>

#include "patchzoo/core/tensor.hpp"

using namespace patchzoo;

#define CHECK_ERROR(expr, text) CHECK_THROWS_WITH_AS(expr, doctest::Contains(text), patchzoo::error)

TEST_CASE("shape_t: numel, rows, strides and validation") {
  const shape_t s{2, 3, 4};
  CHECK(s.numel() == 24);
  CHECK(s.rows() == 6);
  CHECK(s.last() == 4);
  CHECK(s.str() == "[2, 3, 4]");
  CHECK(contiguous_strides(s) == std::array<std::int64_t, max_rank>{12, 4, 1, 0});
  CHECK(shape_t{}.numel() == 1);
  CHECK(shape_t{5, 0}.numel() == 0);
  CHECK_ERROR((shape_t{1, 2, 3, 4, 5}), "rank 5 exceeds the maximum of 4");
  CHECK_ERROR((shape_t{2, -1}), "negative dimension -1");
}

TEST_CASE("tensor_view: reshape keeps the memory, rejects bad requests") {
  tensor<float> t(shape_t{2, 6}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  const tensor_view<float> v = t.view().reshape({3, 2, 2});
  CHECK(v.data == t.data());
  CHECK(v.shape == shape_t{3, 2, 2});
  CHECK(v.strides == std::array<std::int64_t, max_rank>{4, 2, 1, 0});
  CHECK(v.data[v.strides[0] * 2 + v.strides[1] * 1 + 1] == 11.0f);
  CHECK_ERROR(t.view().reshape({5, 2}), "reshape: cannot view [2, 6] as [5, 2]");

  const tensor_view<float> strided(t.data(), shape_t{2, 3}, {6, 1, 0, 0});
  CHECK_FALSE(strided.is_contiguous());
  CHECK_ERROR(strided.reshape({6}), "reshape: view with shape [2, 3] is not contiguous");
}

TEST_CASE("tensor_view: slice_rows offsets the data and keeps the strides") {
  tensor<double> t(shape_t{4, 3});
  for (std::int64_t i = 0; i < t.numel(); ++i) t[i] = static_cast<double>(i);
  const tensor_view<double> rows = t.view().slice_rows(1, 3);
  CHECK(rows.shape == shape_t{2, 3});
  CHECK(rows.data == t.data() + 3);
  CHECK(rows.data[rows.strides[0] + 2] == 8.0);
  CHECK(rows.is_contiguous());
  CHECK(t.view().slice_rows(2, 2).numel() == 0);
  CHECK(t.view().slice_rows(2, 2).empty());
  CHECK_ERROR(t.view().slice_rows(3, 5), "slice_rows: range [3, 5) out of bounds for shape [4, 3]");
  CHECK_ERROR(t.view().slice_rows(2, 1), "slice_rows: range [2, 1)");

  // Rows of a strided view stay strided: a column block of a wider buffer.
  const tensor_view<double> block(t.data() + 1, shape_t{4, 2}, {3, 1, 0, 0});
  const tensor_view<double> lower = block.slice_rows(2, 4);
  CHECK(lower.data[0] == 7.0);
  CHECK(lower.data[lower.strides[0] + 1] == 11.0);
  CHECK_FALSE(lower.is_contiguous());
}

TEST_CASE("tensor_view: const conversion, emptiness and shape checks") {
  tensor<float> t(shape_t{2, 2}, {1, 2, 3, 4});
  const const_view<float> c = t.view();
  CHECK(c.data == t.data());
  CHECK(c.shape == t.shape());
  CHECK(tensor_view<float>().empty());
  CHECK_FALSE(c.empty());
  CHECK_ERROR(expect_shape("op", "x", c, shape_t{4}), "op: x has shape [2, 2], expected [4]");
  CHECK_ERROR(expect_rank("op", "x", c, 3), "op: x has rank 2 (shape [2, 2]), expected rank 3");
}

TEST_CASE("tensor: zero-initialised, clone is deep, move transfers ownership") {
  tensor<float> t(shape_t{3});
  CHECK(t.to_vector() == std::vector<float>{0, 0, 0});
  t[1] = 5.0f;
  tensor<float> copy = t.clone();
  copy[1] = 7.0f;
  CHECK(t[1] == 5.0f);
  const float* data = t.data();
  tensor<float> moved = std::move(t);
  CHECK(moved.data() == data);
  CHECK(moved[1] == 5.0f);
  CHECK(t.data() == nullptr);  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  CHECK(t.numel() == 0);
  CHECK_ERROR((tensor<float>(shape_t{2}, {1, 2, 3})), "tensor: shape [2] needs 2 values, got 3");
}

TEST_CASE("tensor: default-constructed and moved-from tensors are empty") {
  tensor<float> none;
  CHECK(none.empty());
  CHECK(none.numel() == 0);
  CHECK(none.data() == nullptr);
  CHECK(none.clone().empty());
  tensor<float> t(shape_t{3});
  tensor<float> u(std::move(t));
  CHECK(t.empty());
  CHECK(t.numel() == 0);
  CHECK(u.numel() == 3);
}
