#pragma once
// The parameters an architecture implies, as names and shapes only: nothing is allocated. The
// classifiers lay out their arenas with these functions, and load_weights compares a file against
// parameter_layout() before building a model, so a spec that claims more parameters than the file
// holds fails before any memory is taken for them.
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "patchzoo/nn/llama_block.hpp"
#include "patchzoo/nn/param_arena.hpp"
#include "patchzoo/zoo/architecture.hpp"
#include "patchzoo/zoo/layers.hpp"

namespace patchzoo::zoo {

// Layout indices of one sequential layer's weight and bias; -1 for a layer without parameters.
struct sequential_slot {
  std::int64_t weight = -1, bias = -1;
};

// Adds "layers.<i>.weight" and "layers.<i>.bias" of every parameterised layer; `shapes` as from
// sequential_shapes(s). Returns one slot per layer.
inline std::vector<sequential_slot> add_sequential_parameters(nn::param_layout& layout, const sequential_spec& s,
                                                              const std::vector<shape_t>& shapes) {
  std::vector<sequential_slot> slots;
  for (std::size_t i = 0; i < s.layers.size(); ++i) {
    sequential_slot slot;
    if (layer_has_params(s.layers[i])) {
      const auto prefix = "layers." + std::to_string(i);
      slot.weight = static_cast<std::int64_t>(layout.add(prefix + ".weight", layer_weight_shape(s.layers[i], shapes[i])));
      slot.bias = static_cast<std::int64_t>(layout.add(prefix + ".bias", shape_t{s.layers[i].out}));
    }
    slots.push_back(slot);
  }
  return slots;
}

// The LLaMA block configuration of a ViT's blocks.
inline nn::block_config vit_block_config(const vit_spec& v) { return {v.dim, v.heads, v.ffn_hidden, 1e-5f}; }

// Layout indices of a ViT's parameters.
struct vit_slots {
  std::size_t embed_w = 0, embed_b = 0, norm = 0, head_w = 0, head_b = 0;
  std::vector<nn::block_params> blocks;
};

inline vit_slots add_vit_parameters(nn::param_layout& layout, const vit_spec& v) {
  validate(v);
  const auto cfg = vit_block_config(v);
  vit_slots s;
  s.embed_w = layout.add("patch_embed.weight", shape_t{v.dim, v.patch * v.patch});
  s.embed_b = layout.add("patch_embed.bias", shape_t{v.dim});
  for (std::int64_t l = 0; l < v.layers; ++l)
    s.blocks.push_back(nn::block_params::add_to(layout, "blocks." + std::to_string(l), cfg));
  s.norm = layout.add("final_norm.weight", shape_t{v.dim});
  s.head_w = layout.add("head.weight", shape_t{class_count, v.dim});
  s.head_b = layout.add("head.bias", shape_t{class_count});
  return s;
}

// Every parameter's name and shape, in the order the classifier's arena holds them.
inline nn::param_layout parameter_layout(const architecture& spec) {
  nn::param_layout layout;
  if (const auto* s = std::get_if<sequential_spec>(&spec)) add_sequential_parameters(layout, *s, sequential_shapes(*s));
  else add_vit_parameters(layout, std::get<vit_spec>(spec));
  return layout;
}

}  // namespace patchzoo::zoo
