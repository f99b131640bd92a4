#pragma once
// What a zoo classifier is built from, as plain data: a sequential stack of layers or a small ViT.
// The spec round-trips through JSON, so a weights file and the manifest can name the exact network.
#include <cstdint>
#include <limits>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "patchzoo/core/error.hpp"
#include "patchzoo/core/shape.hpp"
#include "patchzoo/io/checked_size.hpp"
#include "patchzoo/io/json_fields.hpp"

namespace patchzoo::zoo {

// Every classifier reads grey 28x28 images and scores the 10 Fashion-MNIST classes.
inline constexpr std::int64_t image_side = 28;
inline constexpr std::int64_t class_count = 10;
// Far more layers (ViT blocks) than any zoo model has; bounds the work a hostile spec asks for before
// its weights are checked.
inline constexpr std::int64_t max_layers = 1024;

enum class layer_kind { linear, gelu, conv2d, maxpool2d, avgpool2d, flatten };

struct layer_spec {
  layer_kind kind = layer_kind::linear;
  std::int64_t out = 0;  // linear: output features; conv2d: output channels
  int kernel = 0;        // conv2d and pools
  int stride = 1;
  int padding = 0;       // conv2d only

  static layer_spec linear(std::int64_t out) { return {layer_kind::linear, out, 0, 1, 0}; }
  static layer_spec gelu() { return {layer_kind::gelu, 0, 0, 1, 0}; }
  static layer_spec conv2d(std::int64_t out, int kernel, int padding) { return {layer_kind::conv2d, out, kernel, 1, padding}; }
  static layer_spec maxpool2d(int kernel) { return {layer_kind::maxpool2d, 0, kernel, kernel, 0}; }
  static layer_spec avgpool2d(int kernel) { return {layer_kind::avgpool2d, 0, kernel, kernel, 0}; }
  static layer_spec flatten() { return {layer_kind::flatten, 0, 0, 1, 0}; }
};

struct sequential_spec {
  std::vector<layer_spec> layers;  // the last one must be linear(class_count)
};

// Patches of patch x patch pixels become tokens; 2-D RoPE gives them their grid position; tokens are
// mean-pooled per image after the blocks, normalised, and scored by a linear head.
struct vit_spec {
  std::int64_t patch = 4;
  std::int64_t dim = 64;
  std::int64_t heads = 4;
  std::int64_t ffn_hidden = 128;
  std::int64_t layers = 2;
};

using architecture = std::variant<sequential_spec, vit_spec>;

inline const char* layer_kind_name(layer_kind k) {
  switch (k) {
    case layer_kind::linear: return "linear";
    case layer_kind::gelu: return "gelu";
    case layer_kind::conv2d: return "conv2d";
    case layer_kind::maxpool2d: return "maxpool2d";
    case layer_kind::avgpool2d: return "avgpool2d";
    case layer_kind::flatten: return "flatten";
  }
  return "?";
}

inline layer_kind parse_layer_kind(const std::string& name) {
  for (auto k : {layer_kind::linear, layer_kind::gelu, layer_kind::conv2d, layer_kind::maxpool2d,
                 layer_kind::avgpool2d, layer_kind::flatten})
    if (name == layer_kind_name(k)) return k;
  throw error("architecture: unknown layer type '" + name + "'");
}

// The per-image output shape of a layer (no batch axis), with the checks that make the stack valid.
inline shape_t layer_output_shape(const layer_spec& l, const shape_t& in, std::size_t index) {
  const auto where = "layer " + std::to_string(index) + " (" + layer_kind_name(l.kind) + ")";
  switch (l.kind) {
    case layer_kind::linear:
      check(in.rank == 1, "architecture", where, " needs flat input, got ", in.str(), ": add a flatten layer");
      check(l.out > 0, "architecture", where, " has ", l.out, " output features");
      return shape_t{l.out};
    case layer_kind::gelu: return in;
    case layer_kind::flatten: return shape_t{in.numel()};
    case layer_kind::conv2d: {
      check(in.rank == 3, "architecture", where, " needs [C, H, W] input, got ", in.str());
      // padding < kernel: a wider border would only add zeros, and it keeps the output (activation) no larger
      // than the kernel that the weights file must hold.
      check(l.out > 0 && l.kernel > 0 && l.stride > 0 && l.padding >= 0 && l.padding < l.kernel, "architecture", where,
            " has out ", l.out, ", kernel ", l.kernel, ", stride ", l.stride, ", padding ", l.padding,
            " (needs out, kernel, stride > 0 and 0 <= padding < kernel)");
      const std::int64_t pad = l.padding;  // int64: 2 * padding can overflow int
      const std::int64_t h = (in[1] + 2 * pad - l.kernel) / l.stride + 1;
      const std::int64_t w = (in[2] + 2 * pad - l.kernel) / l.stride + 1;
      check(h > 0 && w > 0, "architecture", where, " leaves no output for input ", in.str());
      const std::int64_t dims[] = {l.out, h, w};
      checked_product(dims, "architecture: " + where + " output");
      return shape_t{l.out, h, w};
    }
    case layer_kind::maxpool2d:
    case layer_kind::avgpool2d: {
      check(in.rank == 3, "architecture", where, " needs [C, H, W] input, got ", in.str());
      check(l.kernel > 0 && l.stride > 0 && in[1] >= l.kernel && in[2] >= l.kernel, "architecture", where,
            " kernel ", l.kernel, " does not fit input ", in.str());
      return shape_t{in[0], (in[1] - l.kernel) / l.stride + 1, (in[2] - l.kernel) / l.stride + 1};
    }
  }
  throw error("architecture: unknown layer kind");
}

// Per-image shapes of the input and of every layer's output; checks that the stack ends in class scores.
inline std::vector<shape_t> sequential_shapes(const sequential_spec& s) {
  check(!s.layers.empty(), "architecture", "a sequential classifier needs at least one layer");
  check(static_cast<std::int64_t>(s.layers.size()) <= max_layers, "architecture", "a sequential classifier of ",
        s.layers.size(), " layers has more than ", max_layers);
  std::vector<shape_t> shapes{shape_t{1, image_side, image_side}};
  for (std::size_t i = 0; i < s.layers.size(); ++i) shapes.push_back(layer_output_shape(s.layers[i], shapes.back(), i));
  check(s.layers.back().kind == layer_kind::linear && shapes.back() == shape_t{class_count}, "architecture",
        "the last layer must be linear with ", class_count, " outputs, got ", shapes.back().str());
  return shapes;
}

inline void validate(const vit_spec& v) {
  check(v.patch > 0 && image_side % v.patch == 0, "architecture", "ViT patch ", v.patch, " does not divide ", image_side);
  check(v.dim > 0 && v.heads > 0 && v.dim % v.heads == 0, "architecture", "ViT dim ", v.dim, " is not divisible by ",
        v.heads, " heads");
  check((v.dim / v.heads) % 4 == 0, "architecture", "ViT head dim ", v.dim / v.heads,
        " must be a multiple of 4 for 2-D RoPE");
  check(v.ffn_hidden > 0 && v.layers > 0 && v.layers <= max_layers, "architecture", "ViT ffn_hidden ", v.ffn_hidden,
        " and layers ", v.layers, " must be positive, layers at most ", max_layers);
  // The largest parameter shapes a block forms ([3 dim, dim], [ffn_hidden, dim]) must not wrap.
  checked_mul(checked_mul(3, v.dim, "architecture: ViT dim"), v.dim, "architecture: ViT dim");
  checked_mul(v.ffn_hidden, v.dim, "architecture: ViT ffn_hidden x dim");
}

inline nlohmann::json to_json(const architecture& a) {
  if (const auto* s = std::get_if<sequential_spec>(&a)) {
    nlohmann::json layers = nlohmann::json::array();
    for (const auto& l : s->layers) {
      nlohmann::json j{{"type", layer_kind_name(l.kind)}};
      if (l.kind == layer_kind::linear || l.kind == layer_kind::conv2d) j["out"] = l.out;
      if (l.kind == layer_kind::conv2d) j["padding"] = l.padding;
      if (l.kind != layer_kind::linear && l.kind != layer_kind::gelu && l.kind != layer_kind::flatten) {
        j["kernel"] = l.kernel;
        j["stride"] = l.stride;
      }
      layers.push_back(j);
    }
    return {{"kind", "sequential"}, {"layers", layers}};
  }
  const auto& v = std::get<vit_spec>(a);
  return {{"kind", "vit"},          {"patch", v.patch},   {"dim", v.dim},
          {"heads", v.heads},       {"ffn_hidden", v.ffn_hidden}, {"layers", v.layers}};
}

namespace architecture_detail {
// Integer fields are read as int64 and range-checked, so a huge value is an error rather than an int
// silently truncated by nlohmann.
inline std::int64_t int_field(const nlohmann::json& j, const char* key, const std::string& where, std::int64_t lo,
                              std::int64_t hi = std::numeric_limits<std::int64_t>::max()) {
  return json_int_field<std::int64_t>(j, key, "architecture: " + where, lo, hi);
}
// Kernel, stride and padding are ints in the conv and pool ops.
inline int small_int_field(const nlohmann::json& j, const char* key, const std::string& where, int lo) {
  return static_cast<int>(int_field(j, key, where, lo, std::numeric_limits<int>::max()));
}
}  // namespace architecture_detail

// Parses and validates; errors name the offending layer and field.
inline architecture architecture_from_json(const nlohmann::json& j) {
  using architecture_detail::int_field;
  using architecture_detail::small_int_field;
  const auto kind = json_field<std::string>(j, "kind", "architecture: architecture");
  if (kind == "vit") {
    vit_spec v{int_field(j, "patch", "vit", 1, image_side), int_field(j, "dim", "vit", 1),
               int_field(j, "heads", "vit", 1), int_field(j, "ffn_hidden", "vit", 1),
               int_field(j, "layers", "vit", 1, max_layers)};
    validate(v);
    return v;
  }
  check(kind == "sequential", "architecture", "unknown kind '", kind, "' (expected sequential or vit)");
  const auto& layers = json_member(j, "layers", "architecture: sequential");
  check(layers.is_array(), "architecture", "sequential field 'layers' must be an array, found ",
        describe_json_value(layers));
  check(static_cast<std::int64_t>(layers.size()) <= max_layers, "architecture", "sequential field 'layers' holds ",
        layers.size(), " layers, at most ", max_layers, " are supported");
  sequential_spec s;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const auto where = "layer " + std::to_string(i);
    const auto& lj = layers[i];
    layer_spec l;
    l.kind = parse_layer_kind(json_field<std::string>(lj, "type", "architecture: " + where));
    if (l.kind == layer_kind::linear || l.kind == layer_kind::conv2d) l.out = int_field(lj, "out", where, 1);
    if (l.kind == layer_kind::conv2d) l.padding = small_int_field(lj, "padding", where, 0);
    if (l.kind == layer_kind::conv2d || l.kind == layer_kind::maxpool2d || l.kind == layer_kind::avgpool2d) {
      l.kernel = small_int_field(lj, "kernel", where, 1);
      l.stride = small_int_field(lj, "stride", where, 1);
    }
    s.layers.push_back(l);
  }
  sequential_shapes(s);
  return s;
}

}  // namespace patchzoo::zoo
