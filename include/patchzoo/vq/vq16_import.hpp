#pragma once
// LlamaGen VQ tokenizer checkpoints converted by scripts/convert-llamagen --kind vq: a safetensors file whose
// metadata holds the tokenizer config ("vq.*" keys, "format" = llamagen_vq_format) and whose tensors are
// vq16_model's parameters under LlamaGen's own names, float32. The loader checks the whole file against the
// model's layout before reading any data: a missing, unknown or mis-shaped tensor is refused with its name.
// docs/interop.md, "VQ-16 tokenizer": the mapping and the proof against PyTorch (tests/interop).
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "patchzoo/core/error.hpp"
#include "patchzoo/io/metadata_numbers.hpp"
#include "patchzoo/io/safetensors_reader.hpp"
#include "patchzoo/nn/converted_params.hpp"
#include "patchzoo/vq/vq16_model.hpp"

namespace patchzoo::vq {

inline constexpr std::string_view llamagen_vq_format = "patchzoo.llamagen_vq/1";

// The config of a converted tokenizer checkpoint, from its metadata alone.
inline vq16_config llamagen_vq_config(const safetensors_reader& file) {
  const char* op = "load_llamagen_vq";
  const auto& meta = file.metadata();
  nn::check_converted_format(file, op, llamagen_vq_format, "converted LlamaGen VQ checkpoint",
                             "convert it with scripts/convert-llamagen --kind vq");
  const auto text = [&](const std::string& key) -> const std::string& {
    const auto it = meta.find(key);
    check(it != meta.end(), op, file.path().string(), ": metadata has no '", key, "'");
    return it->second;
  };
  const auto integer = [&](const std::string& key) { return parse_metadata_int(text(key), "vq metadata: '" + key + "'"); };
  std::vector<std::int64_t> ch_mult;
  const std::string& mult = text("vq.ch_mult");
  std::size_t start = 0;
  while (start <= mult.size()) {
    const std::size_t end = std::min(mult.find(',', start), mult.size());
    ch_mult.push_back(parse_metadata_int(std::string_view(mult).substr(start, end - start), "vq metadata: 'vq.ch_mult'"));
    start = end + 1;
  }
  vq16_config cfg = vq16_config::llamagen(integer("vq.ch"), ch_mult, integer("vq.num_res_blocks"),
                                          integer("vq.z_channels"), integer("vq.codebook_size"),
                                          integer("vq.codebook_dim"));
  cfg.in_channels = integer("vq.in_channels");
  cfg.groups = static_cast<int>(integer("vq.groups"));
  cfg.norm_eps = parse_metadata_real(text("vq.norm_eps"), "vq metadata: 'vq.norm_eps'");
  cfg.validate();
  return cfg;
}

// Builds the tokenizer from the file's metadata and loads every parameter into it.
template <backend B>
  requires vq_ops<B, float>
std::unique_ptr<vq16_model<B, float>> load_llamagen_vq(B& be, const std::filesystem::path& path) {
  const char* op = "load_llamagen_vq";
  const safetensors_reader file(path);
  auto model = std::make_unique<vq16_model<B, float>>(llamagen_vq_config(file));
  nn::check_converted_tensors(file, model->layout(), op, "vq16_model");
  nn::load_converted_params(be, file, model->params());
  return model;
}

}  // namespace patchzoo::vq
