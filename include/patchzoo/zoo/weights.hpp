#pragma once
// A classifier's weights as a safetensors file: one tensor per parameter slice under the slice's name,
// the architecture spec as JSON in the metadata. Loading rebuilds the network from that spec and
// validates every tensor (name, dtype, shape) before any weight is written.
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "patchzoo/backend/transfer.hpp"
#include "patchzoo/io/safetensors.hpp"
#include "patchzoo/zoo/make_classifier.hpp"

namespace patchzoo::zoo {

inline constexpr const char* weights_format_tag = "patchzoo-zoo-weights-1";

template <backend B, real T>
void save_weights(B& be, const std::filesystem::path& path, const classifier<B, T>& model, const std::string& id) {
  auto host = download(be, model.params().flat());
  safetensors_writer w;
  for (const auto& s : model.layout().slices()) w.add(s.name, tensor_view<T>(host.data() + s.offset, s.shape));
  w.add_metadata("format", weights_format_tag);
  w.add_metadata("id", id);
  w.add_metadata("architecture", to_json(model.spec()).dump());
  w.write(path);
}

// Builds the classifier named by the file's architecture metadata and loads its parameters.
template <backend B, real T>
std::unique_ptr<classifier<B, T>> load_weights(B& be, const std::filesystem::path& path) {
  const safetensors_reader r(path);
  const auto& meta = r.metadata();
  const auto format = meta.find("format");
  check(format != meta.end() && format->second == weights_format_tag, "load_weights", path.string(),
        " is not a patchzoo zoo weights file (metadata 'format' is missing or different)");
  const auto arch = meta.find("architecture");
  check(arch != meta.end(), "load_weights", path.string(), " has no 'architecture' metadata");
  nlohmann::json spec;
  try {
    spec = nlohmann::json::parse(arch->second);
  } catch (const nlohmann::json::exception& e) {
    throw error("load_weights: " + path.string() + ": 'architecture' metadata is not JSON: " + e.what());
  }
  auto model = make_classifier<B, T>(architecture_from_json(spec), 0);
  tensor<T> host(shape_t{model->layout().total()});
  std::map<std::string, safetensors_target> targets;
  for (const auto& s : model->layout().slices())
    targets.emplace(s.name, tensor_view<T>(host.data() + s.offset, s.shape));
  check(r.entries().size() == targets.size(), "load_weights", path.string(), " holds ", r.entries().size(),
        " tensors, the architecture has ", targets.size(), " parameters");
  r.load_all_into(targets);
  be.synchronize();
  B::memory::copy_from_host(model->params().flat().data, host.data(), host.bytes());
  return model;
}

}  // namespace patchzoo::zoo
