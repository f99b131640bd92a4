# User-facing options. PATCHZOO_CUDA is AUTO (on when nvcc is found), ON (required) or OFF.
include(CheckLanguage)

set(PATCHZOO_CUDA "AUTO" CACHE STRING "Build the CUDA backend: AUTO, ON or OFF")
set_property(CACHE PATCHZOO_CUDA PROPERTY STRINGS AUTO ON OFF)
set(PATCHZOO_GRPC "AUTO" CACHE STRING "Build the gRPC inference service (patchzoo::grpc): AUTO, ON or OFF")
set_property(CACHE PATCHZOO_GRPC PROPERTY STRINGS AUTO ON OFF)
option(PATCHZOO_BUILD_TESTS "Build the test suite" ${PATCHZOO_MAIN_PROJECT})
# The tests include patchzoo/cpu_instances.hpp and link this library when it is built (tests/CMakeLists.txt).
option(PATCHZOO_CPU_INSTANCES
       "Build patchzoo::cpu_instances, the explicit instantiations declared by patchzoo/cpu_instances.hpp"
       ${PATCHZOO_BUILD_TESTS})
option(PATCHZOO_BUILD_EXAMPLES "Build the patchzoo command-line program" ${PATCHZOO_MAIN_PROJECT})
option(PATCHZOO_BUILD_BENCH "Build the Google Benchmark programs" ${PATCHZOO_MAIN_PROJECT})
option(PATCHZOO_NATIVE "Build the CLI and benchmarks with -march=native" ON)
option(PATCHZOO_USE_BLAS "Let Eigen call OpenBLAS for GEMM (EIGEN_USE_BLAS)" ON)

set(PATCHZOO_WITH_CUDA OFF)
if(PATCHZOO_CUDA STREQUAL "ON" OR PATCHZOO_CUDA STREQUAL "AUTO")
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(PATCHZOO_WITH_CUDA ON)
  elseif(PATCHZOO_CUDA STREQUAL "ON")
    message(FATAL_ERROR "PATCHZOO_CUDA=ON but no CUDA compiler (nvcc) was found")
  endif()
elseif(NOT PATCHZOO_CUDA STREQUAL "OFF")
  message(FATAL_ERROR "PATCHZOO_CUDA must be AUTO, ON or OFF (got '${PATCHZOO_CUDA}')")
endif()
message(STATUS "patchzoo: CUDA backend ${PATCHZOO_WITH_CUDA}")
