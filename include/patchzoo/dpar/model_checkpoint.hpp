#pragma once
// Trained image-token models from their training checkpoints: the metadata rebuilds the config, then the
// parameters are loaded (the optimizer moments in the file are validated and dropped).
#include <filesystem>
#include <memory>

#include "patchzoo/dpar/model_metadata.hpp"
#include "patchzoo/train/checkpoint.hpp"

namespace patchzoo::dpar {

template <backend B>
  requires transformer_ops<B, float>
std::unique_ptr<llamagen_model<B, float>> load_llamagen(B& be, const std::filesystem::path& path) {
  const auto meta = read_checkpoint_metadata(path);
  check(parse_model_kind(metadata_detail::field(meta, "model.kind")) != model_kind::dpar, "load_llamagen", path.string(),
        " holds a DPAR model; a baseline or an entropy model is wanted here");
  auto model = std::make_unique<llamagen_model<B, float>>(llamagen_config_from(meta), 0);
  training::load_checkpoint_params(be, path, model->params());
  return model;
}

// The DPAR model and the patcher it was trained with.
template <backend B>
  requires transformer_ops<B, float>
std::unique_ptr<dpar_model<B, float>> load_dpar(B& be, const std::filesystem::path& path, patcher_config& patcher) {
  const auto meta = read_checkpoint_metadata(path);
  check(parse_model_kind(metadata_detail::field(meta, "model.kind")) == model_kind::dpar, "load_dpar", path.string(),
        " holds a ", metadata_detail::field(meta, "model.kind"), " model, not a DPAR one");
  auto model = std::make_unique<dpar_model<B, float>>(dpar_config_from(meta), 0);
  patcher = patcher_config_from(meta);
  training::load_checkpoint_params(be, path, model->params());
  return model;
}

}  // namespace patchzoo::dpar
