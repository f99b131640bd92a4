#pragma once
// Tokenizer checkpoints: one training checkpoint file holding parameters, AdamW moments, step, metadata
// (model configuration, data-iterator position), the host codebook state and the loss history. One
// file commits atomically: a kill at any instant leaves the previous checkpoint or the new one.
// Older runs kept the codebook state and history in a second file; those still resume when its step
// matches the checkpoint's.
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "patchzoo/io/metadata_numbers.hpp"
#include "patchzoo/train/checkpoint.hpp"
#include "patchzoo/vq/vq_tokenizer.hpp"

namespace patchzoo::vq {

inline std::filesystem::path checkpoint_path(const std::filesystem::path& dir) { return dir / "checkpoint.safetensors"; }
// The second file of older checkpoints (read on resume, removed by the next save).
inline std::filesystem::path codebook_state_path(const std::filesystem::path& dir) {
  return dir / "codebook_state.safetensors";
}

// The loss history holds one row per step: step, recon_mse, quantizer loss, perplexity, usage, lr,
// restarted codes (vq_trainer's vq_step_log).
inline constexpr std::int64_t history_columns = 7;

inline void add_config_metadata(training::checkpoint_metadata& m, const vq_config& c) {
  m["vq.codebook_size"] = std::to_string(c.codebook_size);
  m["vq.code_dim"] = std::to_string(c.code_dim);
  m["vq.hidden"] = std::to_string(c.hidden);
  m["vq.downsample"] = std::to_string(c.downsample);
  m["vq.beta"] = std::to_string(c.beta);
  m["vq.mode"] = mode_name(c.mode);
  m["vq.ema_decay"] = std::to_string(c.ema_decay);
  m["vq.dead_code_steps"] = std::to_string(c.dead_code_steps);
}

inline const std::string& metadata_field(const std::filesystem::path& path, const training::checkpoint_metadata& m,
                                         const std::string& key) {
  const auto it = m.find(key);
  check(it != m.end(), "vq checkpoint", path.string(), " has no metadata '", key, "'");
  return it->second;
}

inline std::int64_t metadata_int(const std::filesystem::path& path, const training::checkpoint_metadata& m,
                                 const std::string& key) {
  return parse_metadata_int(metadata_field(path, m, key), "vq checkpoint: " + path.string() + ": metadata '" + key + "'");
}

inline double metadata_real(const std::filesystem::path& path, const training::checkpoint_metadata& m,
                            const std::string& key) {
  return parse_metadata_real(metadata_field(path, m, key), "vq checkpoint: " + path.string() + ": metadata '" + key + "'");
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
  c.beta = metadata_real(path, m, "vq.beta");
  c.mode = parse_mode(metadata_field(path, m, "vq.mode"));
  c.ema_decay = metadata_real(path, m, "vq.ema_decay");
  c.dead_code_steps = metadata_int(path, m, "vq.dead_code_steps");
  c.validate();
  return c;
}

// `history` is [steps, history_columns]; it and the codebook state go into the checkpoint file itself.
template <backend B, real T>
void save_tokenizer_checkpoint(B& be, const std::filesystem::path& dir, vq_tokenizer<B, T>& model,
                               training::adamw_optimizer<B, T>& opt, training::checkpoint_metadata metadata,
                               const tensor<double>& history) {
  std::filesystem::create_directories(dir);
  add_config_metadata(metadata, model.config());
  training::save_checkpoint(be, checkpoint_path(dir), std::as_const(model).params(), opt, metadata,
                            [&](safetensors_writer& w) {
                              model.state().add_to(w);
                              w.add("history", history.cview());
                            });
  std::filesystem::remove(codebook_state_path(dir));  // an older run's second file, superseded now
}

namespace checkpoint_detail {

// The tensors a tokenizer checkpoint holds besides the model's: the codebook state and the loss history.
inline training::checkpoint_load_options own_tensors() { return {.caller_tensors = {"codebook_state/", "history"}}; }

// The loss history of a checkpoint at `steps`, its shape checked before anything is read.
inline tensor<double> read_history(const safetensors_reader& r, std::int64_t steps) {
  const auto& e = r.entry("history");
  check(e.shape == std::vector<std::int64_t>{steps, history_columns}, "vq checkpoint", r.path().string(),
        ": tensor 'history' has shape ", shape_str(e.shape), ", expected [", steps, ", ", history_columns,
        "] (one row per step up to step ", steps, ")");
  tensor<double> h(shape_t{steps, history_columns});
  r.load_into("history", h.view());
  return h;
}

// Where the codebook state and history are: the checkpoint itself, or an older run's second file
// whose step must match the checkpoint's.
inline std::filesystem::path state_file(const std::filesystem::path& dir, const safetensors_reader& checkpoint,
                                        std::int64_t steps) {
  if (checkpoint.contains("codebook_state/last_used")) return checkpoint_path(dir);
  const auto path = codebook_state_path(dir);
  check(std::filesystem::exists(path), "vq checkpoint", checkpoint_path(dir).string(),
        " holds no codebook state, and there is no ", path.string(), " beside it");
  const safetensors_reader r(path);
  const auto step = r.metadata().find("step");
  check(step != r.metadata().end() && step->second == std::to_string(steps), "vq checkpoint", path.string(),
        " is for step ", step == r.metadata().end() ? std::string("(none)") : step->second, " but ",
        checkpoint_path(dir).string(), " is at step ", steps, " (interrupted save of an older version?)");
  return path;
}

}  // namespace checkpoint_detail

// Restores model, optimizer and codebook state from dir; returns the checkpoint metadata and fills
// `history` with the stored loss history. Everything is validated before the model is touched.
template <backend B, real T>
training::checkpoint_metadata load_tokenizer_checkpoint(B& be, const std::filesystem::path& dir,
                                                        vq_tokenizer<B, T>& model, training::adamw_optimizer<B, T>& opt,
                                                        tensor<double>& history) {
  const safetensors_reader checkpoint(checkpoint_path(dir));
  const std::int64_t steps = metadata_int(checkpoint_path(dir), checkpoint.metadata(), "step");
  const safetensors_reader r(checkpoint_detail::state_file(dir, checkpoint, steps));
  auto state = model.state().loaded_from(r);
  auto h = checkpoint_detail::read_history(r, steps);
  auto meta = training::load_checkpoint(be, checkpoint_path(dir), model.params(), opt, checkpoint_detail::own_tensors());
  model.state() = std::move(state);
  history = std::move(h);
  return meta;
}

// Loads only the parameters (for eval / encode / decode), the config from the metadata.
template <backend B>
std::unique_ptr<vq_tokenizer<B, float>> load_tokenizer(B& be, const std::filesystem::path& dir) {
  auto model = std::make_unique<vq_tokenizer<B, float>>(read_checkpoint_config(checkpoint_path(dir)), 0);
  training::load_checkpoint_params(be, checkpoint_path(dir), model->params(), checkpoint_detail::own_tensors());
  return model;
}

}  // namespace patchzoo::vq
