#pragma once
// LlamaGen GPT checkpoints converted by scripts/convert-llamagen: a safetensors file whose metadata holds
// the model config (the keys of model_metadata.hpp, "format" = llamagen_import_format) and whose tensors
// are llamagen_model's parameters by name, float32. The loader checks the whole file against the model's
// layout before reading any data: a missing, unknown or mis-shaped tensor is refused with its name.
// docs/llamagen.md: the name mapping, and why the computation equals LlamaGen's (proven in tests/interop).
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "patchzoo/core/error.hpp"
#include "patchzoo/dpar/llamagen_model.hpp"
#include "patchzoo/dpar/model_metadata.hpp"
#include "patchzoo/io/safetensors_reader.hpp"

namespace patchzoo::dpar {

inline constexpr std::string_view llamagen_import_format = "patchzoo.llamagen_import/1";

// The config of a converted checkpoint, from its metadata alone.
inline llamagen_config llamagen_import_config(const safetensors_reader& file) {
  const char* op = "load_llamagen_import";
  const auto& meta = file.metadata();
  const auto format = meta.find("format");
  check(format != meta.end() && format->second == llamagen_import_format, op, file.path().string(),
        ": not a converted LlamaGen checkpoint (metadata 'format' is ",
        format == meta.end() ? std::string("missing") : "'" + format->second + "'", ", expected '",
        llamagen_import_format, "'; convert it with scripts/convert-llamagen)");
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
  const auto& slices = model->layout().slices();

  std::set<std::string> names;
  for (const auto& s : slices) names.insert(s.name);
  for (const auto& e : file.entries())
    check(names.contains(e.name), op, path.string(), ": unknown tensor '", e.name, "' of shape ", shape_str(e.shape),
          " (llamagen_model of this config has no such parameter)");
  for (const auto& s : slices) {
    check(file.contains(s.name), op, path.string(), ": missing tensor '", s.name, "' (expected F32 ", s.shape.str(),
          ")");
    file.expect(s.name, dtype::f32, s.shape);  // names the tensor and both shapes on a mismatch
  }

  tensor<float> host(shape_t{model->layout().total()});
  for (const auto& s : slices) file.load_into(s.name, tensor_view<float>(host.data() + s.offset, s.shape));
  be.synchronize();
  B::memory::copy_from_host(model->params().flat().data, host.data(), host.bytes());
  return model;
}

}  // namespace patchzoo::dpar
