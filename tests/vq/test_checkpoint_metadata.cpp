// Metadata numbers of a tokenizer checkpoint are read whole and named on failure (issue 16 finding 10:
// a bad vq.beta used to stop the program with std::stod's bare "stod").
#include <doctest/doctest.h>

#include <string>

#include "patchzoo/core/tensor.hpp"
#include "patchzoo/io/metadata_numbers.hpp"
#include "patchzoo/io/safetensors_writer.hpp"
#include "patchzoo/vq/vq_checkpoint.hpp"
#include "support/temp_dir.hpp"

using namespace patchzoo;

namespace {

// A file with a valid tokenizer configuration in its metadata, one key replaced by `value`.
std::filesystem::path config_file(const temp_dir& dir, const std::string& key, const std::string& value) {
  safetensors_writer w;
  tensor<float> unused({1});
  w.add("unused", unused.view());
  for (const auto& [k, v] : std::map<std::string, std::string>{{"vq.codebook_size", "16"}, {"vq.code_dim", "4"},
                                                               {"vq.hidden", "8"}, {"vq.downsample", "4"},
                                                               {"vq.beta", "0.25"}, {"vq.mode", "ema"},
                                                               {"vq.ema_decay", "0.99"}, {"vq.dead_code_steps", "0"}})
    w.add_metadata(k, k == key ? value : v);
  const auto path = dir.path / "checkpoint.safetensors";
  w.write(path);
  return path;
}

}  // namespace

TEST_CASE("metadata numbers: the whole text is the number, reals are finite, errors name the field") {
  CHECK(parse_metadata_int("-12", "k") == -12);
  CHECK(parse_metadata_real("0.25", "k") == 0.25);
  CHECK_THROWS_WITH_AS(parse_metadata_int("12abc", "f.safetensors: metadata 'step'"),
                       "f.safetensors: metadata 'step' = '12abc' is not a 64-bit integer", error);
  CHECK_THROWS_WITH_AS(parse_metadata_int("99999999999999999999", "k"), "k = '99999999999999999999' is not a 64-bit integer", error);
  CHECK_THROWS_AS(parse_metadata_int("", "k"), error);
  CHECK_THROWS_WITH_AS(parse_metadata_real("1e400", "k"), "k = '1e400' is not a finite number", error);
  CHECK_THROWS_AS(parse_metadata_real("nan", "k"), error);
  CHECK_THROWS_AS(parse_metadata_real("0.25x", "k"), error);
}

TEST_CASE("tokenizer checkpoint: a bad vq.beta or vq.ema_decay names the file and the key") {
  const temp_dir dir("vq_metadata");
  CHECK(vq::read_checkpoint_config(config_file(dir, "", "")).beta == 0.25);
  for (const std::string key : {"vq.beta", "vq.ema_decay"}) {
    CAPTURE(key);
    const auto path = config_file(dir, key, "abc");
    CHECK_THROWS_WITH_AS(vq::read_checkpoint_config(path),
                         ("vq checkpoint: " + path.string() + ": metadata '" + key + "' = 'abc' is not a finite number").c_str(), error);
  }
  const auto path = config_file(dir, "vq.hidden", "8x");
  CHECK_THROWS_WITH_AS(vq::read_checkpoint_config(path),
                       ("vq checkpoint: " + path.string() + ": metadata 'vq.hidden' = '8x' is not a 64-bit integer").c_str(), error);
}
