#pragma once
// Tokenizer checkpoints: the training checkpoint (parameters, AdamW moments, step, metadata with the
// model configuration and the data-iterator position) plus a second file with the host codebook state
// and the loss history. Both carry the step, and a load insists that they match.
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "patchzoo/train/checkpoint.hpp"
#include "patchzoo/vq/vq_tokenizer.hpp"

namespace patchzoo::vq {

inline std::filesystem::path checkpoint_path(const std::filesystem::path& dir) { return dir / "checkpoint.safetensors"; }
inline std::filesystem::path codebook_state_path(const std::filesystem::path& dir) {
  return dir / "codebook_state.safetensors";
}

inline void add_config_metadata(train::checkpoint_metadata& m, const vq_config& c) {
  m["vq.codebook_size"] = std::to_string(c.codebook_size);
  m["vq.code_dim"] = std::to_string(c.code_dim);
  m["vq.hidden"] = std::to_string(c.hidden);
  m["vq.downsample"] = std::to_string(c.downsample);
  m["vq.beta"] = std::to_string(c.beta);
  m["vq.mode"] = mode_name(c.mode);
  m["vq.ema_decay"] = std::to_string(c.ema_decay);
  m["vq.dead_code_steps"] = std::to_string(c.dead_code_steps);
}

inline const std::string& metadata_field(const std::filesystem::path& path, const train::checkpoint_metadata& m,
                                         const std::string& key) {
  const auto it = m.find(key);
  check(it != m.end(), "vq checkpoint", path.string(), " has no metadata '", key, "'");
  return it->second;
}

inline std::int64_t metadata_int(const std::filesystem::path& path, const train::checkpoint_metadata& m,
                                 const std::string& key) {
  const auto& v = metadata_field(path, m, key);
  try {
    return std::stoll(v);
  } catch (const std::exception&) {
    throw error("vq checkpoint: " + path.string() + ": metadata '" + key + "' = '" + v + "' is not an integer");
  }
}

// The model configuration stored in a checkpoint, read without loading any tensor.
inline vq_config read_checkpoint_config(const std::filesystem::path& path) {
  const safetensors_reader r(path);
  const auto& m = r.metadata();
  vq_config c;
  c.codebook_size = metadata_int(path, m, "vq.codebook_size");
  c.code_dim = metadata_int(path, m, "vq.code_dim");
  c.hidden = metadata_int(path, m, "vq.hidden");
  c.downsample = metadata_int(path, m, "vq.downsample");
  c.beta = std::stod(metadata_field(path, m, "vq.beta"));
  c.mode = parse_mode(metadata_field(path, m, "vq.mode"));
  c.ema_decay = std::stod(metadata_field(path, m, "vq.ema_decay"));
  c.dead_code_steps = metadata_int(path, m, "vq.dead_code_steps");
  c.validate();
  return c;
}

// Writes the codebook state first: a crash between the two writes leaves a step mismatch that the
// load reports, never a silently inconsistent pair.
template <backend B, real T>
void save_tokenizer_checkpoint(B& be, const std::filesystem::path& dir, vq_tokenizer<B, T>& model,
                               train::adamw_optimizer<B, T>& opt, train::checkpoint_metadata metadata,
                               const tensor<double>& history) {
  std::filesystem::create_directories(dir);
  add_config_metadata(metadata, model.config());
  safetensors_writer w;
  model.state().add_to(w);
  if (history.rank() == 2 && history.numel() > 0) w.add("history", history.cview());
  w.add_metadata("step", std::to_string(opt.steps()));
  w.write(codebook_state_path(dir));
  train::save_checkpoint(be, checkpoint_path(dir), std::as_const(model).params(), opt, metadata);
}

// Restores model, optimizer and codebook state from dir; returns the checkpoint metadata and fills
// `history` with the stored loss history.
template <backend B, real T>
train::checkpoint_metadata load_tokenizer_checkpoint(B& be, const std::filesystem::path& dir,
                                                     vq_tokenizer<B, T>& model, train::adamw_optimizer<B, T>& opt,
                                                     tensor<double>& history) {
  const auto meta = train::load_checkpoint(be, checkpoint_path(dir), model.params(), opt);
  const safetensors_reader r(codebook_state_path(dir));
  const auto step = r.metadata().find("step");
  check(step != r.metadata().end() && step->second == std::to_string(opt.steps()), "vq checkpoint",
        codebook_state_path(dir).string(), " is for step ",
        step == r.metadata().end() ? std::string("(none)") : step->second, " but ", checkpoint_path(dir).string(),
        " is at step ", opt.steps(), " (interrupted save?)");
  model.state().load_from(r);
  if (r.contains("history")) {
    const auto& e = r.entry("history");
    history = tensor<double>(shape_t{e.shape.at(0), e.shape.at(1)});
    r.load_into("history", history.view());
  } else {
    history = tensor<double>();
  }
  return meta;
}

// Loads only the parameters (for eval / encode / decode): config from the metadata, a throwaway optimizer.
template <backend B>
std::unique_ptr<vq_tokenizer<B, float>> load_tokenizer(B& be, const std::filesystem::path& dir) {
  auto model = std::make_unique<vq_tokenizer<B, float>>(read_checkpoint_config(checkpoint_path(dir)), 0);
  train::adamw_optimizer<B, float> opt(model->layout(), {});
  train::load_checkpoint(be, checkpoint_path(dir), model->params(), opt);
  return model;
}

}  // namespace patchzoo::vq
