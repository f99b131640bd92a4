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
    target_compile_options(patchzoo_native INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-march=native>)
  endif()
endif()
