#pragma once
// Model configs and the patcher as checkpoint metadata (string key -> string value), so that a checkpoint
// alone rebuilds its model: "model.kind" is entropy (unconditional LlamaGen), baseline (conditional
// LlamaGen) or dpar; the shape keys follow; DPAR checkpoints also carry the patcher they were trained with.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "patchzoo/core/error.hpp"
#include "patchzoo/core/number_text.hpp"
#include "patchzoo/dpar/dpar_model.hpp"
#include "patchzoo/dpar/llamagen_model.hpp"
#include "patchzoo/io/metadata_numbers.hpp"
#include "patchzoo/dpar/patcher.hpp"
#include "patchzoo/io/safetensors_reader.hpp"

namespace patchzoo::dpar {

using metadata_map = std::map<std::string, std::string>;

enum class model_kind { entropy, baseline, dpar };

inline std::string kind_name(model_kind k) {
  switch (k) {
    case model_kind::entropy: return "entropy";
    case model_kind::baseline: return "baseline";
    case model_kind::dpar: return "dpar";
  }
  return "?";
}

inline model_kind parse_model_kind(const std::string& s) {
  if (s == "entropy") return model_kind::entropy;
  if (s == "baseline") return model_kind::baseline;
  check(s == "dpar", "parse_model_kind", "unknown model kind '", s, "' (entropy, baseline or dpar)");
  return model_kind::dpar;
}

inline std::string mode_name(patching_mode m) {
  switch (m) {
    case patching_mode::token: return "token";
    case patching_mode::static_length: return "static";
    case patching_mode::entropy: return "entropy";
    case patching_mode::entropy_row_boundary: return "entropy_row";
  }
  return "?";
}

inline patching_mode parse_patching_mode(const std::string& s) {
  if (s == "token") return patching_mode::token;
  if (s == "static") return patching_mode::static_length;
  if (s == "entropy") return patching_mode::entropy;
  check(s == "entropy_row", "parse_patching_mode", "unknown patching mode '", s,
        "' (token, static, entropy or entropy_row)");
  return patching_mode::entropy_row_boundary;
}

inline std::string position_name(global_position p) {
  switch (p) {
    case global_position::slot_1d: return "slot_1d";
    case global_position::dynamic_3d: return "dynamic_3d";
    case global_position::dynamic_4d: return "dynamic_4d";
  }
  return "?";
}

inline global_position parse_global_position(const std::string& s) {
  if (s == "slot_1d") return global_position::slot_1d;
  if (s == "dynamic_3d") return global_position::dynamic_3d;
  check(s == "dynamic_4d", "parse_global_position", "unknown global position layout '", s,
        "' (slot_1d, dynamic_3d or dynamic_4d)");
  return global_position::dynamic_4d;
}

namespace metadata_detail {

inline const std::string& field(const metadata_map& m, const std::string& key) {
  const auto it = m.find(key);
  check(it != m.end(), "model metadata", "checkpoint metadata has no '", key, "'");
  return it->second;
}

inline std::int64_t int_field(const metadata_map& m, const std::string& key) {
  return parse_metadata_int(field(m, key), "model metadata: '" + key + "'");
}

inline double real_field(const metadata_map& m, const std::string& key) {
  return parse_metadata_real(field(m, key), "model metadata: '" + key + "'");
}

inline void put_block(metadata_map& m, const nn::block_config& b) {
  m["model.dim"] = std::to_string(b.dim);
  m["model.heads"] = std::to_string(b.heads);
  m["model.ffn_hidden"] = std::to_string(b.ffn_hidden);
  m["model.norm_eps"] = shortest_text<double>(b.norm_eps);
}

inline nn::block_config get_block(const metadata_map& m) {
  return {.dim = int_field(m, "model.dim"), .heads = int_field(m, "model.heads"),
          .ffn_hidden = int_field(m, "model.ffn_hidden"), .norm_eps = static_cast<float>(real_field(m, "model.norm_eps"))};
}

}  // namespace metadata_detail

inline metadata_map to_metadata(const llamagen_config& c) {
  using namespace metadata_detail;
  metadata_map m;
  m["model.kind"] = kind_name(c.conditional ? model_kind::baseline : model_kind::entropy);
  m["model.vocab"] = std::to_string(c.vocab);
  m["model.classes"] = std::to_string(c.classes);
  m["model.tokens"] = std::to_string(c.tokens);
  m["model.row_width"] = std::to_string(c.row_width);
  m["model.layers"] = std::to_string(c.layers);
  put_block(m, c.block);
  m["model.token_dropout"] = shortest_text<double>(c.token_dropout);
  m["model.label_dropout"] = shortest_text<double>(c.label_dropout);
  m["model.block_dropout"] = shortest_text<double>(c.block_dropout);
  return m;
}

// `source` names the metadata's file in the messages.
inline llamagen_config llamagen_config_from(const metadata_map& m, const std::string& source = "the checkpoint") {
  using namespace metadata_detail;
  const model_kind kind = parse_model_kind(field(m, "model.kind"));
  check(kind != model_kind::dpar, "llamagen_config_from", source, " holds a DPAR model, not a LlamaGen one");
  llamagen_config c;
  c.conditional = kind == model_kind::baseline;
  c.vocab = int_field(m, "model.vocab");
  c.classes = int_field(m, "model.classes");
  c.tokens = int_field(m, "model.tokens");
  c.row_width = int_field(m, "model.row_width");
  c.layers = int_field(m, "model.layers");
  c.block = get_block(m);
  c.token_dropout = static_cast<float>(real_field(m, "model.token_dropout"));
  c.label_dropout = static_cast<float>(real_field(m, "model.label_dropout"));
  c.block_dropout = static_cast<float>(real_field(m, "model.block_dropout"));
  return c;
}

inline metadata_map to_metadata(const dpar_config& c, const patcher_config& p) {
  using namespace metadata_detail;
  metadata_map m;
  m["model.kind"] = kind_name(model_kind::dpar);
  m["model.vocab"] = std::to_string(c.vocab);
  m["model.classes"] = std::to_string(c.classes);
  m["model.tokens"] = std::to_string(c.tokens);
  m["model.row_width"] = std::to_string(c.row_width);
  m["model.encoder_layers"] = std::to_string(c.encoder_layers);
  m["model.global_layers"] = std::to_string(c.global_layers);
  m["model.decoder_layers"] = std::to_string(c.decoder_layers);
  put_block(m, c.block);
  m["model.positions"] = position_name(c.positions);
  m["model.token_dropout"] = shortest_text<double>(c.token_dropout);
  m["model.label_dropout"] = shortest_text<double>(c.label_dropout);
  m["model.global_dropout"] = shortest_text<double>(c.global_dropout);
  m["patcher.mode"] = mode_name(p.mode);
  m["patcher.threshold"] = shortest_text<double>(p.threshold);
  m["patcher.max_patch_length"] = std::to_string(p.max_patch_length);
  m["patcher.row_width"] = std::to_string(p.row_width);
  m["patcher.static_length"] = shortest_text<double>(p.static_length);
  return m;
}

inline dpar_config dpar_config_from(const metadata_map& m, const std::string& source = "the checkpoint") {
  using namespace metadata_detail;
  check(parse_model_kind(field(m, "model.kind")) == model_kind::dpar, "dpar_config_from", source, " holds a ",
        field(m, "model.kind"), " model, not a DPAR one");
  dpar_config c;
  c.vocab = int_field(m, "model.vocab");
  c.classes = int_field(m, "model.classes");
  c.tokens = int_field(m, "model.tokens");
  c.row_width = int_field(m, "model.row_width");
  c.encoder_layers = int_field(m, "model.encoder_layers");
  c.global_layers = int_field(m, "model.global_layers");
  c.decoder_layers = int_field(m, "model.decoder_layers");
  c.block = get_block(m);
  c.positions = parse_global_position(field(m, "model.positions"));
  c.token_dropout = static_cast<float>(real_field(m, "model.token_dropout"));
  c.label_dropout = static_cast<float>(real_field(m, "model.label_dropout"));
  c.global_dropout = static_cast<float>(real_field(m, "model.global_dropout"));
  return c;
}

inline patcher_config patcher_config_from(const metadata_map& m) {
  using namespace metadata_detail;
  patcher_config p;
  p.mode = parse_patching_mode(field(m, "patcher.mode"));
  p.threshold = real_field(m, "patcher.threshold");
  p.max_patch_length = static_cast<int>(int_field(m, "patcher.max_patch_length"));
  p.row_width = static_cast<int>(int_field(m, "patcher.row_width"));
  p.static_length = real_field(m, "patcher.static_length");
  return p;
}

inline metadata_map read_checkpoint_metadata(const std::filesystem::path& path) {
  auto m = safetensors_reader(path).metadata();
  check(m.count("model.kind") == 1, "model checkpoint", path.string(),
        " is not a patchzoo model checkpoint: its metadata has no 'model.kind' (a tokenizer, a zoo model or an",
        " imported LlamaGen file?)");
  return m;
}

}  // namespace patchzoo::dpar
