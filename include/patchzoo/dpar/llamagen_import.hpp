#pragma once
// LlamaGen GPT checkpoints converted by scripts/convert-llamagen: a safetensors file whose metadata holds
// the model config (the keys of model_metadata.hpp, "format" = llamagen_import_format) and whose tensors
// are llamagen_model's parameters by name, float32. The loader checks the whole file against the model's
// layout before reading any data: a missing, unknown or mis-shaped tensor is refused with its name.
// docs/interop.md: the name mapping, and why the computation equals LlamaGen's (proven in tests/interop).
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "patchzoo/core/error.hpp"
#include "patchzoo/dpar/llamagen_model.hpp"
#include "patchzoo/dpar/model_checkpoint.hpp"
#include "patchzoo/dpar/model_metadata.hpp"
#include "patchzoo/io/safetensors_reader.hpp"
#include "patchzoo/nn/converted_params.hpp"

namespace patchzoo::dpar {

inline constexpr std::string_view llamagen_import_format = "patchzoo.llamagen_import/1";

// The config of a converted checkpoint, from its metadata alone.
inline llamagen_config llamagen_import_config(const safetensors_reader& file) {
  const char* op = "load_llamagen_import";
  const auto& meta = file.metadata();
  nn::check_converted_format(file, op, llamagen_import_format, "converted LlamaGen checkpoint",
                             "convert it with scripts/convert-llamagen");
  llamagen_config cfg = llamagen_config_from(meta);
  cfg.zero_head = false;  // every parameter is overwritten by the file
  return cfg;
}

// Builds the model from the file's metadata and loads every parameter into it.
template <backend B>
  requires transformer_ops<B, float>
std::unique_ptr<llamagen_model<B, float>> load_llamagen_import(B& be, const std::filesystem::path& path) {
  const char* op = "load_llamagen_import";
  const safetensors_reader file(path);
  auto model = std::make_unique<llamagen_model<B, float>>(llamagen_import_config(file), 0);
  nn::check_converted_tensors(file, model->layout(), op, "llamagen_model");
  nn::load_converted_params(be, file, model->params());
  return model;
}

// A converted LlamaGen GPT (by its "format") or one of patchzoo's own training checkpoints: what the
// entropy commands accept as --model.
template <backend B>
  requires transformer_ops<B, float>
std::unique_ptr<llamagen_model<B, float>> load_llamagen_or_import(B& be, const std::filesystem::path& path) {
  const safetensors_reader file(path);
  const auto format = file.metadata().find("format");
  if (format != file.metadata().end() && format->second == llamagen_import_format) return load_llamagen_import(be, path);
  return load_llamagen(be, path);
}

}  // namespace patchzoo::dpar
