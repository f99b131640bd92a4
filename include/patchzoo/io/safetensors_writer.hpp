#pragma once
// Collects named host tensors and metadata, then writes one safetensors file atomically.
// The writer borrows the views: their memory must stay valid until write() returns.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "patchzoo/io/atomic_file.hpp"
#include "patchzoo/io/safetensors_format.hpp"
#include "patchzoo/io/strided_copy.hpp"

namespace patchzoo {

class safetensors_writer {
 public:
  template <safetensors_element T>
  void add(const std::string& name, tensor_view<T> view) {
    using U = std::remove_const_t<T>;
    check(!name.empty(), "safetensors_writer", "tensor names must not be empty");
    check(name != "__metadata__", "safetensors_writer", "'__metadata__' is reserved and cannot name a tensor");
    check(view.numel() == 0 || view.data != nullptr, "safetensors_writer", "tensor '", name, "' with shape ",
          view.shape.str(), " has no data");
    check(names_.insert(name).second, "safetensors_writer", "tensor '", name, "' was added twice");
    const const_view<U> source(view);
    pending p{name, dtype_of_v<U>, view.shape, static_cast<std::uint64_t>(view.numel()) * sizeof(U), {}};
    // Strided views are packed when written; contiguous ones are streamed straight from their memory.
    p.write_data = [source](file_sink& sink) {
      if (source.is_contiguous()) {
        sink.write(source.data, static_cast<std::size_t>(source.numel()) * sizeof(U));
      } else {
        std::vector<U> packed(static_cast<std::size_t>(source.numel()));
        io_detail::gather(source, packed.data());
        sink.write(packed.data(), packed.size() * sizeof(U));
      }
    };
    tensors_.push_back(std::move(p));
  }

  void add_metadata(const std::string& key, const std::string& value) { metadata_[key] = value; }

  std::size_t size() const { return tensors_.size(); }

  // Header JSON in the order tensors were added, padded with spaces to 8 bytes so the data is aligned.
  std::string header_json() const {
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    if (!metadata_.empty()) header["__metadata__"] = metadata_;
    std::uint64_t offset = 0;
    for (const auto& t : tensors_) {
      std::vector<std::int64_t> dims(t.shape.dims.begin(), t.shape.dims.begin() + t.shape.rank);
      header[t.name] = {{"dtype", std::string(dtype_name(t.type))},
                        {"shape", dims},
                        {"data_offsets", {offset, offset + t.bytes}}};
      offset += t.bytes;
    }
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');
    return text;
  }

  // Replaces `path` only once every byte is on disk; on failure the old file is left as it was.
  void write(const std::filesystem::path& path) const {
    const std::string header = header_json();
    write_file_atomically(path, [&](file_sink& sink) {
      const std::uint64_t length = header.size();
      sink.write(&length, sizeof(length));
      sink.write(header.data(), header.size());
      for (const auto& t : tensors_) t.write_data(sink);
    });
  }

 private:
  struct pending {
    std::string name;
    dtype type;
    shape_t shape;
    std::uint64_t bytes;
    std::function<void(file_sink&)> write_data;
  };
  std::vector<pending> tensors_;
  std::set<std::string> names_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace patchzoo
