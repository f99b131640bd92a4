#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "support/temp_dir.hpp"
#include "patchzoo/io/safetensors.hpp"

using namespace patchzoo;

TEST_CASE("safetensors: every supported dtype, metadata and a scalar survive a round trip") {
  temp_dir dir;
  const auto file = dir / "model.safetensors";
  tensor<float> w(shape_t{2, 3}, {1.5f, -2.0f, 3.25f, 0.0f, 1e-30f, -7.0f});
  tensor<double> b(shape_t{3}, {0.1, -0.2, 1e300});
  tensor<std::int32_t> ids(shape_t{2, 2}, {-5, 0, 7, 2147483647});
  tensor<std::uint8_t> mask(shape_t{5}, {0, 1, 255, 3, 4});
  tensor<std::uint16_t> halfbits(shape_t{1, 2, 2}, {0, 65535, 15360, 1});
  tensor<float> scalar(shape_t{}, {42.0f});
  tensor<float> empty(shape_t{0, 4});

  safetensors_writer writer;
  writer.add("layer.weight", w.cview());
  writer.add("layer.bias", b.cview());
  writer.add("ids", ids.cview());
  writer.add("mask", mask.cview());
  writer.add("halfbits", halfbits.cview());
  writer.add("scalar", scalar.cview());
  writer.add("empty", empty.cview());
  writer.add_metadata("format", "pt");
  writer.add_metadata("step", "1200");
  writer.write(file);

  safetensors_reader reader(file);
  CHECK(reader.entries().size() == 7);
  CHECK(reader.metadata().at("format") == "pt");
  CHECK(reader.metadata().at("step") == "1200");
  CHECK(reader.entry("layer.weight").type == dtype::f32);
  CHECK(reader.entry("layer.weight").shape == std::vector<std::int64_t>{2, 3});
  CHECK(reader.entry("scalar").shape.empty());

  CHECK(reader.load<float>("layer.weight").to_vector() == w.to_vector());
  CHECK(reader.load<double>("layer.bias").to_vector() == b.to_vector());
  CHECK(reader.load<std::int32_t>("ids").to_vector() == ids.to_vector());
  CHECK(reader.load<std::uint8_t>("mask").to_vector() == mask.to_vector());
  CHECK(reader.load<std::uint16_t>("halfbits").to_vector() == halfbits.to_vector());
  CHECK(reader.load<float>("scalar").to_vector() == std::vector<float>{42.0f});
  CHECK(reader.load<float>("empty").numel() == 0);
}

TEST_CASE("safetensors: the header is padded so the data section starts 8-byte aligned") {
  temp_dir dir;
  tensor<double> x(shape_t{3}, {1, 2, 3});
  safetensors_writer writer;
  writer.add("x", x.cview());
  writer.add_metadata("odd", "a");
  writer.write(dir / "a.safetensors");
  const std::string bytes = read_file_bytes(dir / "a.safetensors");
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  CHECK(n % 8 == 0);
  CHECK(bytes.size() == 8 + n + 3 * sizeof(double));
  double first = 0;
  std::memcpy(&first, bytes.data() + 8 + n, sizeof(double));
  CHECK(first == 1.0);
}

TEST_CASE("safetensors: strided views are packed on write and scattered on load") {
  temp_dir dir;
  // Columns 1..2 of a 3x4 matrix: a view with row stride 4 and 2 columns.
  tensor<float> big(shape_t{3, 4}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  const_view<float> cols(big.data() + 1, shape_t{3, 2}, {4, 1, 0, 0});
  safetensors_writer writer;
  writer.add("cols", cols);
  writer.write(dir / "s.safetensors");

  safetensors_reader reader(dir / "s.safetensors");
  CHECK(reader.load<float>("cols").to_vector() == std::vector<float>{1, 2, 5, 6, 9, 10});
  tensor<float> dst(shape_t{3, 4});
  reader.load_into("cols", tensor_view<float>(dst.data() + 2, shape_t{3, 2}, {4, 1, 0, 0}));
  CHECK(dst.to_vector() == std::vector<float>{0, 0, 1, 2, 0, 0, 5, 6, 0, 0, 9, 10});
}

TEST_CASE("safetensors: load_into names the tensor and expected vs found dtype and shape") {
  temp_dir dir;
  tensor<float> w(shape_t{2, 3}, {1, 2, 3, 4, 5, 6});
  safetensors_writer writer;
  writer.add("w", w.cview());
  writer.write(dir / "m.safetensors");
  safetensors_reader reader(dir / "m.safetensors");

  tensor<float> wrong_shape(shape_t{3, 2});
  CHECK_THROWS_WITH_AS(reader.load_into("w", wrong_shape.view()),
                       doctest::Contains("tensor 'w': shape mismatch: expected [3, 2] (destination), found [2, 3]"),
                       patchzoo::error);
  tensor<double> wrong_dtype(shape_t{2, 3});
  CHECK_THROWS_WITH_AS(reader.load_into("w", wrong_dtype.view()),
                       doctest::Contains("tensor 'w': dtype mismatch: expected F64 (destination), found F32"),
                       patchzoo::error);
  CHECK_THROWS_WITH_AS(reader.load_into("v", wrong_dtype.view()),
                       doctest::Contains("tensor 'v' not found; the file holds 'w'"), patchzoo::error);
  CHECK_THROWS_WITH_AS(reader.load_into("w", wrong_shape.view()), doctest::Contains("m.safetensors"),
                       patchzoo::error);
  CHECK(wrong_shape.to_vector() == std::vector<float>(6, 0.0f));
}

TEST_CASE("safetensors: load_all_into writes nothing unless every tensor matches") {
  temp_dir dir;
  tensor<float> a(shape_t{2}, {1, 2});
  tensor<std::int32_t> b(shape_t{3}, {7, 8, 9});
  tensor<double> c(shape_t{1}, {0.5});
  safetensors_writer writer;
  writer.add("a", a.cview());
  writer.add("b", b.cview());
  writer.add("c", c.cview());
  writer.write(dir / "m.safetensors");
  safetensors_reader reader(dir / "m.safetensors");

  tensor<float> da(shape_t{2}, {-1, -1});
  tensor<std::int32_t> db(shape_t{3}, {-1, -1, -1});
  tensor<double> dc_bad(shape_t{2}, {-1, -1});
  // "a" and "b" sort before "c": a load that only validated lazily would already have written them.
  CHECK_THROWS_WITH_AS(reader.load_all_into({{"a", da.view()}, {"b", db.view()}, {"c", dc_bad.view()}}),
                       doctest::Contains("tensor 'c': shape mismatch: expected [2] (destination), found [1]"),
                       patchzoo::error);
  CHECK(da.to_vector() == std::vector<float>{-1, -1});
  CHECK(db.to_vector() == std::vector<std::int32_t>{-1, -1, -1});
  CHECK_THROWS_WITH_AS(reader.load_all_into({{"a", da.view()}, {"zz", db.view()}}),
                       doctest::Contains("tensor 'zz' not found"), patchzoo::error);
  CHECK(da.to_vector() == std::vector<float>{-1, -1});

  tensor<double> dc(shape_t{1});
  reader.load_all_into({{"a", da.view()}, {"b", db.view()}, {"c", dc.view()}});
  CHECK(da.to_vector() == a.to_vector());
  CHECK(db.to_vector() == b.to_vector());
  CHECK(dc.to_vector() == c.to_vector());
}

TEST_CASE("safetensors_writer rejects bad names and views without data") {
  safetensors_writer writer;
  tensor<float> x(shape_t{2}, {1, 2});
  writer.add("x", x.cview());
  CHECK_THROWS_WITH_AS(writer.add("x", x.cview()), doctest::Contains("tensor 'x' was added twice"), patchzoo::error);
  CHECK_THROWS_WITH_AS(writer.add("", x.cview()), doctest::Contains("must not be empty"), patchzoo::error);
  CHECK_THROWS_WITH_AS(writer.add("__metadata__", x.cview()), doctest::Contains("reserved"), patchzoo::error);
  CHECK_THROWS_WITH_AS(writer.add("y", const_view<float>(nullptr, shape_t{4})),
                       doctest::Contains("tensor 'y' with shape [4] has no data"), patchzoo::error);
  CHECK(writer.size() == 1);
}
