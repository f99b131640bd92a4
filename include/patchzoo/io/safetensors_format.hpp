#pragma once
// The safetensors layout (https://github.com/huggingface/safetensors): an 8-byte little-endian header
// length N, N bytes of JSON describing every tensor, then the raw little-endian data. This header
// parses and validates the JSON; the reader and writer do the file I/O.
#include <algorithm>
#include <bit>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "patchzoo/core/dtype.hpp"
#include "patchzoo/core/error.hpp"
#include "patchzoo/io/checked_size.hpp"
#include "patchzoo/io/json_limits.hpp"

namespace patchzoo {

// Data is stored little-endian and copied byte for byte; a big-endian host would need byte swaps.
static_assert(std::endian::native == std::endian::little, "patchzoo safetensors I/O assumes a little-endian host");

// One tensor as the header describes it. Offsets count bytes from the start of the data section.
struct safetensors_entry {
  std::string name;
  dtype type = dtype::f32;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0;
  std::uint64_t end = 0;

  std::uint64_t bytes() const { return end - begin; }
};

struct safetensors_header {
  std::vector<safetensors_entry> entries;  // sorted by begin offset
  std::map<std::string, std::string> metadata;
};

inline constexpr std::uint64_t safetensors_length_prefix = 8;

// Host element types a safetensors tensor can be saved from or loaded into.
template <class T>
concept safetensors_element = requires { dtype_of<std::remove_const_t<T>>::value; };

inline std::optional<dtype> parse_safetensors_dtype(std::string_view name) {
  for (dtype t : {dtype::f32, dtype::f64, dtype::i32, dtype::u8, dtype::u16, dtype::f16, dtype::bf16})
    if (dtype_name(t) == name) return t;
  return std::nullopt;
}

inline std::string shape_str(const std::vector<std::int64_t>& dims) {
  std::string s = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

namespace safetensors_detail {

// Every header error names the file first, so a message is useful without its call site.
template <class... Parts>
[[noreturn]] void fail(const std::filesystem::path& path, Parts&&... parts) {
  throw error(detail::concat("safetensors: ", path.string(), ": ", std::forward<Parts>(parts)...));
}

// A short, non-recursive rendering of an array from the header for messages: "[0, -2]", scalars only.
inline std::string describe_array(const nlohmann::json& array) {
  constexpr std::size_t shown = 8;
  std::string s = "[";
  for (std::size_t i = 0; i < array.size() && i < shown; ++i) s += (i ? ", " : "") + describe_json_value(array[i]);
  return s + (array.size() > shown ? ", ... (" + std::to_string(array.size()) + " elements)]" : "]");
}

inline std::string describe(const nlohmann::json& v) { return v.is_array() ? describe_array(v) : describe_json_value(v); }

inline std::uint64_t json_offset(const std::filesystem::path& path, const std::string& name, const nlohmann::json& v) {
  if (!v.is_number_unsigned())
    fail(path, "tensor '", name, "': data_offsets must hold non-negative integers, found ", describe_json_value(v));
  return v.get<std::uint64_t>();
}

inline safetensors_entry parse_entry(const std::filesystem::path& path, const std::string& name,
                                     const nlohmann::json& info) {
  if (!info.is_object()) fail(path, "tensor '", name, "': expected an object, found ", info.type_name());
  for (const char* field : {"dtype", "shape", "data_offsets"})
    if (!info.contains(field)) fail(path, "tensor '", name, "': missing field \"", field, "\"");

  safetensors_entry e;
  e.name = name;
  const auto& dt = info["dtype"];
  if (!dt.is_string()) fail(path, "tensor '", name, "': dtype must be a string, found ", describe(dt));
  const auto type = parse_safetensors_dtype(dt.get<std::string>());
  if (!type)
    fail(path, "tensor '", name, "': unknown dtype '", dt.get<std::string>(),
         "', expected one of F32, F64, I32, U8, U16, F16, BF16");
  e.type = *type;

  const auto& shape = info["shape"];
  if (!shape.is_array()) fail(path, "tensor '", name, "': shape must be an array, found ", describe(shape));
  for (const auto& d : shape) {
    if (!d.is_number_unsigned() || d.get<std::uint64_t>() > std::uint64_t(std::numeric_limits<std::int64_t>::max()))
      fail(path, "tensor '", name, "': shape must hold non-negative integers, found ", describe_array(shape));
    e.shape.push_back(d.get<std::int64_t>());
  }
  // Checked, so that a hostile shape cannot wrap around to a small size.
  const std::string what = detail::concat("safetensors: ", path.string(), ": tensor '", name, "': shape");
  const std::int64_t bytes = checked_mul(checked_product(e.shape, what), dtype_size(e.type), what);

  const auto& offsets = info["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2)
    fail(path, "tensor '", name, "': data_offsets must be [begin, end], found ", describe(offsets));
  e.begin = json_offset(path, name, offsets[0]);
  e.end = json_offset(path, name, offsets[1]);
  if (e.begin > e.end)
    fail(path, "tensor '", name, "': data_offsets [", e.begin, ", ", e.end, "] end before they begin");

  if (static_cast<std::uint64_t>(bytes) != e.bytes())
    fail(path, "tensor '", name, "': shape ", shape_str(e.shape), " of ", dtype_name(e.type), " needs ", bytes,
         " bytes, but data_offsets [", e.begin, ", ", e.end, "] span ", e.bytes());
  return e;
}

inline std::map<std::string, std::string> parse_metadata(const std::filesystem::path& path,
                                                         const nlohmann::json& meta) {
  if (!meta.is_object()) fail(path, "__metadata__ must be an object, found ", meta.type_name());
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : meta.items()) {
    if (!value.is_string())
      fail(path, "__metadata__ value for '", key, "' must be a string, found ", value.type_name());
    out[key] = value.get<std::string>();
  }
  return out;
}

}  // namespace safetensors_detail

// Parses the JSON header and checks that the tensors tile the data section exactly: in bounds,
// no overlaps, no holes, nothing left over. `data_bytes` is the file size minus prefix and header.
inline safetensors_header parse_safetensors_header(const std::filesystem::path& path, std::string_view json_text,
                                                   std::uint64_t data_bytes) {
  using safetensors_detail::fail;
  // Depth-limited (nlohmann recurses per level), and every nlohmann exception becomes a patchzoo::error:
  // "1e400" is an out_of_range, not a parse_error.
  if (json_nesting_depth(json_text) > json_max_depth)
    fail(path, "header is nested deeper than ", json_max_depth, " levels");
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {
    fail(path, "header is not valid JSON (", e.what(), ")");
  }
  if (!root.is_object()) fail(path, "header must be a JSON object, found ", root.type_name());

  safetensors_header header;
  for (const auto& [name, info] : root.items()) {
    if (name == "__metadata__") header.metadata = safetensors_detail::parse_metadata(path, info);
    else header.entries.push_back(safetensors_detail::parse_entry(path, name, info));
  }

  for (const auto& e : header.entries)
    if (e.end > data_bytes)
      fail(path, "tensor '", e.name, "': data_offsets [", e.begin, ", ", e.end,
           "] are out of bounds of the data section: expected end <= ", data_bytes, ", found ", e.end,
           " (file truncated?)");

  auto& entries = header.entries;
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t covered = 0;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    if (i > 0 && e.begin < covered)
      fail(path, "tensors '", entries[i - 1].name, "' [", entries[i - 1].begin, ", ", entries[i - 1].end, ") and '",
           e.name, "' [", e.begin, ", ", e.end, ") overlap");
    if (e.begin > covered)
      fail(path, "tensor '", e.name, "': expected data to begin at byte ", covered, " of the data section, found ",
           e.begin, " (a hole in the data)");
    covered = e.end;
  }
  if (covered != data_bytes)
    fail(path, "data section size mismatch: the tensors cover ", covered, " bytes, found ", data_bytes,
         " bytes of data (", data_bytes - covered, " trailing bytes)");
  return header;
}

}  // namespace patchzoo
