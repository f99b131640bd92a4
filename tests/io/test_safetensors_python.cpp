// Interoperability: a file written by an independent Python writer (json + struct only) loads here.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "support/temp_dir.hpp"
#include "patchzoo/io/safetensors.hpp"

using namespace patchzoo;

TEST_CASE("safetensors: loads a file written by tests/io/write_safetensors.py") {
  const std::filesystem::path python = "/usr/bin/python3";
  if (!std::filesystem::exists(python)) {
    MESSAGE("skipped: /usr/bin/python3 is not installed");
    return;
  }
  const auto script = std::filesystem::path(__FILE__).parent_path() / "write_safetensors.py";
  REQUIRE_MESSAGE(std::filesystem::exists(script), "missing ", script.string());
  temp_dir dir;
  const auto file = dir / "from_python.safetensors";
  const std::string command = python.string() + " '" + script.string() + "' '" + file.string() + "'";
  REQUIRE(std::system(command.c_str()) == 0);

  safetensors_reader reader(file);
  CHECK(reader.metadata().at("writer") == "python");
  CHECK(reader.load<float>("embed.weight").to_vector() == std::vector<float>{0.5f, -1.0f, 2.0f, 3.5f, -4.25f, 1e-3f});
  CHECK(reader.entry("embed.weight").shape == std::vector<std::int64_t>{2, 3});
  CHECK(reader.load<double>("norm.eps").to_vector() == std::vector<double>{1e-6});
  CHECK(reader.load<std::int32_t>("token_ids").to_vector() == std::vector<std::int32_t>{3, -1, 70000, 0});
  CHECK(reader.load<std::uint8_t>("flags").to_vector() == std::vector<std::uint8_t>{1, 0, 255});
  CHECK(reader.entry("bf16_bits").type == dtype::bf16);
  const auto raw = reader.read_bytes("bf16_bits");
  REQUIRE(raw.size() == 4);
  CHECK(std::to_integer<int>(raw[0]) == 0x80);
  CHECK(std::to_integer<int>(raw[1]) == 0x3F);
  CHECK(std::to_integer<int>(raw[3]) == 0xC0);
  tensor<float> wrong(shape_t{2});
  CHECK_THROWS_WITH_AS(reader.load_into("bf16_bits", wrong.view()),
                       doctest::Contains("tensor 'bf16_bits': dtype mismatch: expected F32 (destination), found BF16"),
                       patchzoo::error);
}
