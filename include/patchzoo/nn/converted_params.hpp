#pragma once
// Parameters from a converted checkpoint (scripts/convert-llamagen): a safetensors file whose metadata names
// its format and whose tensors are exactly a model's parameter slices, float32. Every check runs before any
// data is read, and each refusal names the file and the tensor.
#include <set>
#include <string>
#include <string_view>

#include "patchzoo/backend/concepts.hpp"
#include "patchzoo/core/error.hpp"
#include "patchzoo/io/safetensors_reader.hpp"
#include "patchzoo/nn/param_arena.hpp"

namespace patchzoo::nn {

// The file's metadata "format" must be `expected`: else it is not a `what`, and `how_to_convert` says how to make one.
inline void check_converted_format(const safetensors_reader& file, const char* op, std::string_view expected,
                                   std::string_view what, std::string_view how_to_convert) {
  const auto& meta = file.metadata();
  const auto format = meta.find("format");
  check(format != meta.end() && format->second == expected, op, file.path().string(), ": not a ", what,
        " (metadata 'format' is ", format == meta.end() ? std::string("missing") : "'" + format->second + "'",
        ", expected '", expected, "'; ", how_to_convert, ")");
}

// Every tensor of the file is a slice of `layout` and every slice is in the file, F32 of the slice's shape.
inline void check_converted_tensors(const safetensors_reader& file, const param_layout& layout, const char* op,
                                    std::string_view model) {
  std::set<std::string, std::less<>> names;
  for (const auto& s : layout.slices()) names.insert(s.name);
  for (const auto& e : file.entries())
    check(names.contains(e.name), op, file.path().string(), ": unknown tensor '", e.name, "' of shape ", shape_str(e.shape),
          " (", model, " of this config has no such parameter)");
  for (const auto& s : layout.slices()) {
    check(file.contains(s.name), op, file.path().string(), ": missing tensor '", s.name, "' (expected F32 ", s.shape.str(), ")");
    file.expect(s.name, dtype::f32, s.shape);  // names the tensor and both shapes on a mismatch
  }
}

// Reads every slice of the (checked) file into `params`, through one host buffer.
template <backend B>
void load_converted_params(B& be, const safetensors_reader& file, param_arena<B, float>& params) {
  const param_layout& layout = params.layout();
  tensor<float> host(shape_t{layout.total()});
  for (const auto& s : layout.slices()) file.load_into(s.name, tensor_view<float>(host.data() + s.offset, s.shape));
  be.synchronize();
  B::memory::copy_from_host(params.flat().data, host.data(), host.bytes());
}

}  // namespace patchzoo::nn
