# Flags for patchzoo's own programs (tests, benchmarks, the CLI); never part of the exported INTERFACE,
# so installed consumers choose their own warnings and target ISA.
add_library(patchzoo_warnings INTERFACE)
target_compile_options(patchzoo_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-unused-parameter>)

# The CLI and the benchmarks run where they are built: let Eigen's exp/tanh and our loops use AVX2/AVX-512.
add_library(patchzoo_native INTERFACE)
if(PATCHZOO_NATIVE)
  include(CheckCXXCompilerFlag)
  check_cxx_compiler_flag(-march=native PATCHZOO_HAS_MARCH_NATIVE)
  if(PATCHZOO_HAS_MARCH_NATIVE)
    # g++ 12's own AVX-512 intrinsic headers raise false "may be used uninitialized" warnings under
    # -march=native (avx512fintrin.h); they say nothing about our code.
    target_compile_options(patchzoo_native INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-march=native -Wno-maybe-uninitialized>)
  endif()
endif()
