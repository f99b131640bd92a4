#pragma once
// Training checkpoints in safetensors: parameters ("param/<name>"), AdamW moments ("adam_m/<name>",
// "adam_v/<name>") and the step count, plus any caller metadata (data-order counters, configs) and
// extra tensors of the caller's own state (which its loads must name: any other tensor is refused). Everything a resume needs lives in this one file, written
// atomically, so a kill at any instant leaves either the previous checkpoint or the new one. Loads
// validate every tensor before touching the model, so a bad file never leaves a half-loaded model behind.
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "patchzoo/backend/transfer.hpp"
#include "patchzoo/io/metadata_numbers.hpp"
#include "patchzoo/io/safetensors.hpp"
#include "patchzoo/train/adamw.hpp"

namespace patchzoo::training {

using checkpoint_metadata = std::map<std::string, std::string>;
// Adds a trainer's own tensors to the checkpoint being written (names outside param/, adam_m/, adam_v/).
using checkpoint_extras = std::function<void(safetensors_writer&)>;

namespace checkpoint_detail {

inline constexpr const char* format_tag = "patchzoo-training-checkpoint-1";

// Host copies of an arena's buffer and a view of each named slice inside it.
template <real T>
struct host_arena {
  tensor<T> buffer;
  tensor_view<T> slice(const nn::param_slice& s) { return {buffer.data() + s.offset, s.shape}; }
};

template <backend B, real T>
host_arena<T> to_host(B& be, const nn::param_arena<B, T>& arena) {
  return {download(be, arena.flat())};
}

template <backend B, real T>
void from_host(B& be, const tensor<T>& host, nn::param_arena<B, T>& arena) {
  be.synchronize();
  B::memory::copy_from_host(arena.flat().data, host.data(), host.bytes());
}

}  // namespace checkpoint_detail

template <backend B, real T>
  requires transformer_ops<B, T>
void save_checkpoint(B& be, const std::filesystem::path& path, const nn::param_arena<B, T>& params,
                     adamw_optimizer<B, T>& opt, const checkpoint_metadata& metadata = {},
                     const checkpoint_extras& extras = {}) {
  auto p = checkpoint_detail::to_host(be, params);
  auto m = checkpoint_detail::to_host(be, std::as_const(opt.first_moment()));
  auto v = checkpoint_detail::to_host(be, std::as_const(opt.second_moment()));
  safetensors_writer w;
  for (const auto& s : params.layout().slices()) {
    w.add("param/" + s.name, p.slice(s));
    w.add("adam_m/" + s.name, m.slice(s));
    w.add("adam_v/" + s.name, v.slice(s));
  }
  if (extras) extras(w);
  for (const auto& [key, value] : metadata) w.add_metadata(key, value);
  w.add_metadata("format", checkpoint_detail::format_tag);
  w.add_metadata("step", std::to_string(opt.steps()));
  w.write(path);
}

namespace checkpoint_detail {

inline constexpr const char* params_format_tag = "patchzoo-parameters-1";

}  // namespace checkpoint_detail

// A parameters-only file ("param/<name>" and the metadata), for inference: no moments, a third of the size.
// load_checkpoint_params reads it; resuming training refuses it by name.
template <backend B, real T>
  requires transformer_ops<B, T>
void save_params(B& be, const std::filesystem::path& path, const nn::param_arena<B, T>& params,
                 const checkpoint_metadata& metadata = {}) {
  auto p = checkpoint_detail::to_host(be, params);
  safetensors_writer w;
  for (const auto& s : params.layout().slices()) w.add("param/" + s.name, p.slice(s));
  for (const auto& [key, value] : metadata) w.add_metadata(key, value);
  w.add_metadata("format", checkpoint_detail::params_format_tag);
  w.write(path);
}

// What a load accepts besides the model's own tensors (param/, adam_m/, adam_v/ of its layout).
struct checkpoint_load_options {
  // Tensors of the caller's own state that this kind of file holds: a name, or a prefix ending in '/'.
  std::vector<std::string> caller_tensors;
  // Skip any other tensor instead of refusing the file (e.g. to load a subset of a larger model on purpose).
  bool ignore_unused = false;
};

namespace checkpoint_detail {

// The whole file in host memory, validated against the layout before any model memory is touched.
template <real T>
struct loaded_checkpoint {
  checkpoint_metadata meta;
  host_arena<T> params, first_moment, second_moment;
  std::int64_t steps = -1;
};

inline bool is_caller_tensor(const std::string& name, const checkpoint_load_options& options) {
  for (const auto& c : options.caller_tensors)
    if (c.ends_with('/') ? name.starts_with(c) : name == c) return true;
  return false;
}

// Refuses, by name, a tensor that neither the layout (under one of `prefixes`) nor the caller uses: a file
// with more layers than its metadata declares must not load and silently drop them.
inline void refuse_unused(const safetensors_reader& r, const nn::param_layout& layout,
                          const checkpoint_load_options& options, const char* op) {
  if (options.ignore_unused) return;
  std::set<std::string, std::less<>> model_names;
  for (const auto& s : layout.slices())
    for (const char* prefix : {"param/", "adam_m/", "adam_v/"}) model_names.insert(prefix + s.name);
  for (const auto& e : r.entries())
    check(model_names.contains(e.name) || is_caller_tensor(e.name, options), op, r.path().string(),
          ": tensor '", e.name, "' of shape ", shape_str(e.shape),
          " is not used by this model (no such parameter in its layout); a file for a larger model, or pass "
          "checkpoint_load_options{.ignore_unused = true} to skip it");
}

// The first tensor of `layout` under `prefix` that the file lacks is named before anything else is checked.
inline void require_slices(const safetensors_reader& r, const nn::param_layout& layout, const std::string& prefix,
                           const char* op, const char* why) {
  for (const auto& s : layout.slices())
    check(r.contains(prefix + s.name), op, r.path().string(), ": missing tensor '", prefix, s.name, "' (F32 ",
          s.shape.str(), ")", why);
}

template <real T>
loaded_checkpoint<T> read_checkpoint(const std::filesystem::path& path, const nn::param_layout& layout,
                                     const checkpoint_load_options& options) {
  const char* op = "load_checkpoint";
  const safetensors_reader r(path);
  loaded_checkpoint<T> c{r.metadata(), {tensor<T>(shape_t{layout.total()})}, {tensor<T>(shape_t{layout.total()})},
                         {tensor<T>(shape_t{layout.total()})}};
  const auto format = c.meta.find("format");
  check(format == c.meta.end() || format->second != params_format_tag, op, path.string(),
        " holds parameters only (metadata 'format' is '", params_format_tag,
        "'): resuming training needs a training checkpoint with the AdamW moments");
  check(format != c.meta.end() && format->second == format_tag, op, path.string(),
        " is not a patchzoo training checkpoint (metadata 'format' is missing or different)");
  const auto step = c.meta.find("step");
  check(step != c.meta.end(), op, path.string(), " has no 'step' metadata");
  c.steps = parse_metadata_int(step->second, "load_checkpoint: " + path.string() + ": metadata 'step'");
  check(c.steps >= 0, op, path.string(), " has a negative 'step' value ", c.steps);
  for (const char* prefix : {"param/", "adam_m/", "adam_v/"}) require_slices(r, layout, prefix, op, "");
  refuse_unused(r, layout, options, op);
  std::map<std::string, safetensors_target> targets;
  for (const auto& s : layout.slices()) {
    targets.emplace("param/" + s.name, c.params.slice(s));
    targets.emplace("adam_m/" + s.name, c.first_moment.slice(s));
    targets.emplace("adam_v/" + s.name, c.second_moment.slice(s));
  }
  r.load_all_into(targets);
  return c;
}

// The parameters of a training checkpoint or a parameters-only file. A training checkpoint's moments are
// checked against the layout (header only) and not read.
template <real T>
std::pair<checkpoint_metadata, tensor<T>> read_params(const std::filesystem::path& path, const nn::param_layout& layout,
                                                      const checkpoint_load_options& options) {
  const char* op = "load_checkpoint_params";
  const safetensors_reader r(path);
  const auto& meta = r.metadata();
  const auto format = meta.find("format");
  const bool training_file = format != meta.end() && format->second == format_tag;
  check(training_file || (format != meta.end() && format->second == params_format_tag), op, path.string(),
        " is neither a patchzoo training checkpoint nor a parameters file (metadata 'format' is ",
        format == meta.end() ? std::string("missing") : "'" + format->second + "'", ", expected '", format_tag,
        "' or '", params_format_tag, "')");
  require_slices(r, layout, "param/", op, "");
  refuse_unused(r, layout, options, op);
  host_arena<T> params{tensor<T>(shape_t{layout.total()})};
  std::map<std::string, safetensors_target> targets;
  for (const auto& s : layout.slices()) {
    targets.emplace("param/" + s.name, params.slice(s));
    for (const char* moment : {"adam_m/", "adam_v/"})
      if (r.contains(moment + s.name)) r.expect(moment + s.name, dtype_of_v<T>, s.shape);
  }
  r.load_all_into(targets);
  return {meta, std::move(params.buffer)};
}

}  // namespace checkpoint_detail

// Restores parameters, moments and step; returns the file's metadata.
template <backend B, real T>
  requires transformer_ops<B, T>
checkpoint_metadata load_checkpoint(B& be, const std::filesystem::path& path, nn::param_arena<B, T>& params,
                                    adamw_optimizer<B, T>& opt, const checkpoint_load_options& options = {}) {
  auto c = checkpoint_detail::read_checkpoint<T>(path, params.layout(), options);
  checkpoint_detail::from_host(be, c.params.buffer, params);
  checkpoint_detail::from_host(be, c.first_moment.buffer, opt.first_moment());
  checkpoint_detail::from_host(be, c.second_moment.buffer, opt.second_moment());
  opt.set_steps(c.steps);
  return std::move(c.meta);
}

// Restores the parameters alone, for inference, from a training checkpoint or a save_params file.
template <backend B, real T>
  requires transformer_ops<B, T>
checkpoint_metadata load_checkpoint_params(B& be, const std::filesystem::path& path, nn::param_arena<B, T>& params,
                                           const checkpoint_load_options& options = {}) {
  auto [meta, host] = checkpoint_detail::read_params<T>(path, params.layout(), options);
  checkpoint_detail::from_host(be, host, params);
  return std::move(meta);
}

}  // namespace patchzoo::training
