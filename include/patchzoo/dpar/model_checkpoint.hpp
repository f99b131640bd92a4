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
  auto model = std::make_unique<llamagen_model<B, float>>(llamagen_config_from(read_checkpoint_metadata(path), path.string()), 0);
  training::load_checkpoint_params(be, path, model->params());
  return model;
}

// The DPAR model and the patcher it was trained with.
template <backend B>
  requires transformer_ops<B, float>
std::unique_ptr<dpar_model<B, float>> load_dpar(B& be, const std::filesystem::path& path, patcher_config& patcher) {
  const auto meta = read_checkpoint_metadata(path);
  auto model = std::make_unique<dpar_model<B, float>>(dpar_config_from(meta, path.string()), 0);
  patcher = patcher_config_from(meta);
  training::load_checkpoint_params(be, path, model->params());
  return model;
}

}  // namespace patchzoo::dpar
