// Fuzzes safetensors_reader (io/safetensors_reader.hpp): header parsing, then every way of reading a
// tensor back (raw bytes, load<T> into a fresh tensor, load_all_into a strided destination).
#include <cstdint>
#include <map>
#include <numeric>
#include <vector>

#include "patchzoo/io/safetensors.hpp"
#include "fuzz/fuzz_support.hpp"

using namespace patchzoo;

namespace {

template <class T>
void load_both_ways(const safetensors_reader& r, const safetensors_entry& e) {
  if (e.shape.size() > static_cast<std::size_t>(max_rank)) {
    (void)r.load<T>(e.name);  // must be rejected with an error, not read
    return;
  }
  const tensor<T> t = r.load<T>(e.name);
  // The same tensor into a strided destination: every other element of a buffer twice the size.
  if (e.shape.empty() || t.numel() == 0) return;
  std::vector<T> wide(static_cast<std::size_t>(2 * t.numel()));
  shape_t s;
  for (auto d : e.shape) s.dims[s.rank++] = d;
  tensor_view<T> dst(wide.data(), s);
  std::int64_t stride = 2;
  for (int i = s.rank - 1; i >= 0; --i) {
    dst.strides[i] = stride;
    stride *= s.dims[i];
  }
  std::map<std::string, safetensors_target> targets{{e.name, dst}};
  r.load_all_into(targets);
}

}  // namespace

void fuzz_one(std::span<const std::uint8_t> input) {
  const safetensors_reader r(scratch_file(".safetensors").write(input));
  for (const auto& [key, value] : r.metadata()) (void)(key.size() + value.size());
  for (const auto& e : r.entries()) {
    (void)r.read_bytes(e.name);
    switch (e.type) {
      case dtype::f32: load_both_ways<float>(r, e); break;
      case dtype::f64: load_both_ways<double>(r, e); break;
      case dtype::i32: load_both_ways<std::int32_t>(r, e); break;
      case dtype::u8: load_both_ways<std::uint8_t>(r, e); break;
      case dtype::u16: load_both_ways<std::uint16_t>(r, e); break;
      default: break;  // f16 / bf16 have no host type: read_bytes above is the only way in
    }
  }
  try {
    (void)r.entry("no such tensor");  // the not-found message lists every name
  } catch (const error&) {
  }
}

void write_seeds(const seed_writer& out) {
  std::vector<float> f(6);
  std::iota(f.begin(), f.end(), 0.5f);
  std::vector<double> d{1.0, -2.0, 3.5, 1e300};
  std::vector<std::int32_t> i{-1, 0, 1, 2};
  std::vector<std::uint8_t> u8{0, 1, 2, 255, 7};
  std::vector<std::uint16_t> u16{0, 65535, 9};
  safetensors_writer w;
  w.add("f32", tensor_view<float>(f.data(), shape_t{2, 3}));
  w.add("f64", tensor_view<double>(d.data(), shape_t{4}));
  w.add("i32", tensor_view<std::int32_t>(i.data(), shape_t{2, 1, 2}));
  w.add("u8", tensor_view<std::uint8_t>(u8.data(), shape_t{5}));
  w.add("u16", tensor_view<std::uint16_t>(u16.data(), shape_t{1, 1, 1, 3}));
  w.add_metadata("format", "seed");
  w.write(out.path("all_dtypes.safetensors"));

  safetensors_writer one;
  one.add("x", tensor_view<float>(f.data(), shape_t{6}));
  one.write(out.path("one.safetensors"));

  safetensors_writer none;
  none.add_metadata("only", "metadata");
  none.write(out.path("metadata_only.safetensors"));
}
