#pragma once
// A classifier's weights as a safetensors file: one tensor per parameter slice under the slice's name,
// the architecture spec as JSON in the metadata. Loading checks the spec against every tensor of the
// file (name, dtype, shape) before the network is built, so the file's size bounds what is allocated.
#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "patchzoo/backend/transfer.hpp"
#include "patchzoo/io/json_limits.hpp"
#include "patchzoo/io/safetensors.hpp"
#include "patchzoo/zoo/make_classifier.hpp"
#include "patchzoo/zoo/parameter_layout.hpp"

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

namespace weights_detail {

// The architecture in the file's metadata (parsed depth-limited) and the parameters it implies.
struct file_spec {
  architecture spec;
  nn::param_layout layout;
};

// Errors name the file: the spec comes from it.
inline file_spec read_file_spec(const std::filesystem::path& path, const safetensors_reader& r) {
  const auto& meta = r.metadata();
  const auto format = meta.find("format");
  check(format != meta.end() && format->second == weights_format_tag, "load_weights", path.string(),
        " is not a patchzoo zoo weights file (metadata 'format' is missing or different)");
  const auto arch = meta.find("architecture");
  check(arch != meta.end(), "load_weights", path.string(), " has no 'architecture' metadata");
  const auto where = "load_weights: " + path.string() + ": metadata 'architecture'";
  const auto spec = parse_json_limited(arch->second, where);
  try {
    auto a = architecture_from_json(spec);
    auto layout = parameter_layout(a);
    return {std::move(a), std::move(layout)};
  } catch (const error& e) {
    throw error(where + ": " + e.what());
  }
}

// Every parameter the architecture implies must be a tensor of the file with its dtype and shape, and the
// file must hold nothing else. The reader has checked that the tensors tile the file's bytes, so after
// this the model's size is justified by bytes present: a spec claiming 2^22 outputs fails here, before
// anything is allocated for it.
inline void check_file_holds(const std::filesystem::path& path, const safetensors_reader& r,
                             const nn::param_layout& layout, dtype type) {
  check(r.entries().size() == layout.slices().size(), "load_weights", path.string(), " holds ", r.entries().size(),
        " tensors, the architecture has ", layout.slices().size(), " parameters");
  // In name order, the order load_all_into checks them, so the first mismatch reported is the same.
  std::vector<const nn::param_slice*> by_name;
  for (const auto& s : layout.slices()) by_name.push_back(&s);
  std::sort(by_name.begin(), by_name.end(), [](const auto* a, const auto* b) { return a->name < b->name; });
  for (const auto* s : by_name) r.expect(s->name, type, s->shape);
}

}  // namespace weights_detail

// Builds the classifier named by the file's architecture metadata and loads its parameters.
template <backend B, real T>
std::unique_ptr<classifier<B, T>> load_weights(B& be, const std::filesystem::path& path) {
  const safetensors_reader r(path);
  const auto file = weights_detail::read_file_spec(path, r);
  weights_detail::check_file_holds(path, r, file.layout, dtype_of_v<T>);
  auto model = make_classifier<B, T>(file.spec, 0);
  tensor<T> host(shape_t{model->layout().total()});
  std::map<std::string, safetensors_target> targets;
  for (const auto& s : model->layout().slices())
    targets.emplace(s.name, tensor_view<T>(host.data() + s.offset, s.shape));
  r.load_all_into(targets);
  be.synchronize();
  B::memory::copy_from_host(model->params().flat().data, host.data(), host.bytes());
  return model;
}

}  // namespace patchzoo::zoo
