#pragma once
// Opens a safetensors file and validates its whole header up front (sizes, dtypes, offsets), so that
// loads fail before touching any destination. Tensor data is read on demand, not kept in memory.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <system_error>
#include <type_traits>
#include <variant>
#include <vector>

#include "patchzoo/core/tensor.hpp"
#include "patchzoo/io/safetensors_format.hpp"
#include "patchzoo/io/strided_copy.hpp"

namespace patchzoo {

// A destination of any element type the format can hold, for load_all_into.
using safetensors_target = std::variant<tensor_view<float>, tensor_view<double>, tensor_view<std::int32_t>,
                                        tensor_view<std::uint8_t>, tensor_view<std::uint16_t>>;

class safetensors_reader {
 public:
  explicit safetensors_reader(std::filesystem::path path) : path_(std::move(path)) {
    using safetensors_detail::fail;
    std::error_code ec;
    file_size_ = std::filesystem::file_size(path_, ec);
    if (ec) fail(path_, "cannot open: ", ec.message());
    if (file_size_ < safetensors_length_prefix)
      fail(path_, "file is too short: expected at least ", safetensors_length_prefix,
           " bytes for the header length, found ", file_size_);
    std::ifstream in(path_, std::ios::binary);
    if (!in) fail(path_, "cannot open for reading");
    std::uint64_t header_length = 0;
    in.read(reinterpret_cast<char*>(&header_length), sizeof(header_length));
    const std::uint64_t available = file_size_ - safetensors_length_prefix;
    if (header_length > available)
      fail(path_, "header length is beyond the file size: expected at most ", available,
           " bytes after the 8-byte prefix, found ", header_length);
    std::string text(header_length, '\0');
    in.read(text.data(), static_cast<std::streamsize>(header_length));
    if (!in) fail(path_, "reading the ", header_length, "-byte header failed");
    data_start_ = safetensors_length_prefix + header_length;
    header_ = parse_safetensors_header(path_, text, file_size_ - data_start_);
  }

  const std::filesystem::path& path() const { return path_; }
  const std::vector<safetensors_entry>& entries() const { return header_.entries; }
  const std::map<std::string, std::string>& metadata() const { return header_.metadata; }

  const safetensors_entry* find(const std::string& name) const {
    for (const auto& e : header_.entries)
      if (e.name == name) return &e;
    return nullptr;
  }
  bool contains(const std::string& name) const { return find(name) != nullptr; }

  const safetensors_entry& entry(const std::string& name) const {
    if (const auto* e = find(name)) return *e;
    // The missing name first; a few of the file's names after it, not hundreds.
    constexpr std::size_t listed = 8;
    std::string names;
    for (std::size_t i = 0; i < std::min(listed, header_.entries.size()); ++i)
      names += (names.empty() ? "'" : ", '") + header_.entries[i].name + "'";
    if (header_.entries.size() > listed) names += " and " + std::to_string(header_.entries.size() - listed) + " more";
    safetensors_detail::fail(path_, "tensor '", name, "' not found; the file holds ",
                             names.empty() ? std::string("no tensors") : names);
  }

  // Checks that the file holds `name` with this dtype and shape, reading no data: a loader can check a
  // whole model against the file before allocating its destinations.
  const safetensors_entry& expect(const std::string& name, dtype type, const shape_t& shape) const {
    using safetensors_detail::fail;
    const auto& e = entry(name);
    if (e.type != type)
      fail(path_, "tensor '", name, "': dtype mismatch: expected ", dtype_name(type), " (destination), found ",
           dtype_name(e.type), " (file)");
    const std::vector<std::int64_t> dims(shape.dims.begin(), shape.dims.begin() + shape.rank);
    if (e.shape != dims)
      fail(path_, "tensor '", name, "': shape mismatch: expected ", shape.str(), " (destination), found ",
           shape_str(e.shape), " (file)");
    return e;
  }

  // Checks dtype and shape against `dst`, then reads into it (strided destinations included).
  template <safetensors_element T>
    requires(!std::is_const_v<T>)
  void load_into(const std::string& name, tensor_view<T> dst) const {
    const auto& e = validate_target(name, dst);
    read_into(e, dst);
  }

  // All or nothing: every name, dtype and shape is checked before the first destination is written.
  void load_all_into(const std::map<std::string, safetensors_target>& targets) const {
    std::vector<const safetensors_entry*> found;
    // Clang 14 can neither capture a structured binding (hence &name = name) nor, with a reference return
    // type on the lambda, emit validate_target<T> (hence the pointer).
    for (const auto& [name, target] : targets)
      found.push_back(std::visit([&, &name = name](const auto& dst) { return &validate_target(name, dst); }, target));
    std::error_code ec;
    const auto size_now = std::filesystem::file_size(path_, ec);
    if (ec || size_now != file_size_)
      safetensors_detail::fail(path_, "file changed since it was opened: expected ", file_size_, " bytes, found ",
                               ec ? 0 : size_now);
    std::size_t i = 0;
    for (const auto& [name, target] : targets) {
      const auto* e = found[i++];
      std::visit([&](const auto& dst) { read_into(*e, dst); }, target);
    }
  }

  // A fresh host tensor holding `name`; its rank must fit shape_t.
  template <safetensors_element T>
    requires(!std::is_const_v<T>)
  tensor<T> load(const std::string& name) const {
    const auto& e = entry(name);
    if (e.shape.size() > static_cast<std::size_t>(max_rank))
      safetensors_detail::fail(path_, "tensor '", name, "': rank ", e.shape.size(), " of shape ", shape_str(e.shape),
                               " exceeds the maximum rank ", max_rank);
    shape_t s;
    for (auto d : e.shape) s.dims[s.rank++] = d;
    tensor<T> t(s);
    load_into(name, t.view());
    return t;
  }

  // The raw bytes of one tensor (for F16 / BF16 data that has no host element type).
  std::vector<std::byte> read_bytes(const std::string& name) const {
    const auto& e = entry(name);
    std::vector<std::byte> bytes(e.bytes());
    read_raw(e, bytes.data());
    return bytes;
  }

 private:
  template <class T>
  const safetensors_entry& validate_target(const std::string& name, const tensor_view<T>& dst) const {
    using safetensors_detail::fail;
    const auto& e = expect(name, dtype_of_v<T>, dst.shape);
    if (dst.numel() > 0 && dst.data == nullptr)
      fail(path_, "tensor '", name, "': destination with shape ", dst.shape.str(), " has no memory");
    return e;
  }

  void read_raw(const safetensors_entry& e, void* out) const {
    if (e.bytes() == 0) return;
    std::ifstream in(path_, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(data_start_ + e.begin));
    in.read(static_cast<char*>(out), static_cast<std::streamsize>(e.bytes()));
    if (!in) safetensors_detail::fail(path_, "tensor '", e.name, "': reading ", e.bytes(), " bytes failed");
  }

  template <class T>
  void read_into(const safetensors_entry& e, tensor_view<T> dst) const {
    if (dst.is_contiguous()) {
      read_raw(e, dst.data);
    } else {
      std::vector<T> packed(static_cast<std::size_t>(dst.numel()));
      read_raw(e, packed.data());
      io_detail::scatter(dst, packed.data());
    }
  }

  std::filesystem::path path_;
  std::uint64_t file_size_ = 0;
  std::uint64_t data_start_ = 0;
  safetensors_header header_;
};

}  // namespace patchzoo
