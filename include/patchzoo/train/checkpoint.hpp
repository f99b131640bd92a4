#pragma once
// Training checkpoints in safetensors: parameters ("param/<name>"), AdamW moments ("adam_m/<name>",
// "adam_v/<name>") and the step count, plus any caller metadata (data-order counters, configs) and
// extra tensors of the caller's own state. Everything a resume needs lives in this one file, written
// atomically, so a kill at any instant leaves either the previous checkpoint or the new one. Loads
// validate every tensor before touching the model, so a bad file never leaves a half-loaded model behind.
#include <filesystem>
#include <functional>
#include <map>
#include <string>

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

// The whole file in host memory, validated against the layout before any model memory is touched.
template <real T>
struct loaded_checkpoint {
  checkpoint_metadata meta;
  host_arena<T> params, first_moment, second_moment;
  std::int64_t steps = -1;
};

template <real T>
loaded_checkpoint<T> read_checkpoint(const std::filesystem::path& path, const nn::param_layout& layout) {
  const safetensors_reader r(path);
  loaded_checkpoint<T> c{r.metadata(), {tensor<T>(shape_t{layout.total()})}, {tensor<T>(shape_t{layout.total()})},
                         {tensor<T>(shape_t{layout.total()})}};
  const auto format = c.meta.find("format");
  check(format != c.meta.end() && format->second == format_tag, "load_checkpoint", path.string(),
        " is not a patchzoo training checkpoint (metadata 'format' is missing or different)");
  const auto step = c.meta.find("step");
  check(step != c.meta.end(), "load_checkpoint", path.string(), " has no 'step' metadata");
  std::map<std::string, safetensors_target> targets;
  for (const auto& s : layout.slices()) {
    targets.emplace("param/" + s.name, c.params.slice(s));
    targets.emplace("adam_m/" + s.name, c.first_moment.slice(s));
    targets.emplace("adam_v/" + s.name, c.second_moment.slice(s));
  }
  c.steps = parse_metadata_int(step->second, "load_checkpoint: " + path.string() + ": metadata 'step'");
  check(c.steps >= 0, "load_checkpoint", path.string(), " has a negative 'step' value ", c.steps);
  r.load_all_into(targets);
  return c;
}

}  // namespace checkpoint_detail

// Restores parameters, moments and step; returns the file's metadata.
template <backend B, real T>
  requires transformer_ops<B, T>
checkpoint_metadata load_checkpoint(B& be, const std::filesystem::path& path, nn::param_arena<B, T>& params,
                                    adamw_optimizer<B, T>& opt) {
  auto c = checkpoint_detail::read_checkpoint<T>(path, params.layout());
  checkpoint_detail::from_host(be, c.params.buffer, params);
  checkpoint_detail::from_host(be, c.first_moment.buffer, opt.first_moment());
  checkpoint_detail::from_host(be, c.second_moment.buffer, opt.second_moment());
  opt.set_steps(c.steps);
  return std::move(c.meta);
}

// Restores the parameters alone, for inference; the file is validated in full all the same.
template <backend B, real T>
  requires transformer_ops<B, T>
checkpoint_metadata load_checkpoint_params(B& be, const std::filesystem::path& path, nn::param_arena<B, T>& params) {
  auto c = checkpoint_detail::read_checkpoint<T>(path, params.layout());
  checkpoint_detail::from_host(be, c.params.buffer, params);
  return std::move(c.meta);
}

}  // namespace patchzoo::training
