#pragma once
// Element types. float and double run everywhere; half and bf16 are reserved for the CUDA backend.
#include <cstdint>
#include <concepts>
#include <string_view>
#include <type_traits>

namespace patchzoo {

enum class dtype : std::uint8_t { f32, f64, f16, bf16, i32, u8, u16 };

constexpr std::string_view dtype_name(dtype t) {
  switch (t) {
    case dtype::f32: return "F32";
    case dtype::f64: return "F64";
    case dtype::f16: return "F16";
    case dtype::bf16: return "BF16";
    case dtype::i32: return "I32";
    case dtype::u8: return "U8";
    case dtype::u16: return "U16";
  }
  return "?";
}

constexpr std::size_t dtype_size(dtype t) {
  switch (t) {
    case dtype::f32: case dtype::i32: return 4;
    case dtype::f64: return 8;
    case dtype::f16: case dtype::bf16: case dtype::u16: return 2;
    case dtype::u8: return 1;
  }
  return 0;
}

template <class T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr dtype value = dtype::f32; };
template <> struct dtype_of<double> { static constexpr dtype value = dtype::f64; };
template <> struct dtype_of<std::int32_t> { static constexpr dtype value = dtype::i32; };
template <> struct dtype_of<std::uint8_t> { static constexpr dtype value = dtype::u8; };
template <> struct dtype_of<std::uint16_t> { static constexpr dtype value = dtype::u16; };
template <class T> inline constexpr dtype dtype_of_v = dtype_of<std::remove_const_t<T>>::value;

// The floating-point types every op is instantiated for.
template <class T>
concept real = std::same_as<T, float> || std::same_as<T, double>;

}  // namespace patchzoo
