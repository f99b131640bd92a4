# The CUDA backend: a static library of kernels and their host launchers (src/cuda), over the header-only
# core. CMake 3.25.1 does not know cuda_std_20 for nvcc 13, so C++20 is passed as a flag to CUDA units only.
enable_language(CUDA)
find_package(CUDAToolkit REQUIRED)

# Hopper (H100/H200) by default; never "native", which needs a GPU at configure time.
if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES OR CMAKE_CUDA_ARCHITECTURES STREQUAL "")
  set(CMAKE_CUDA_ARCHITECTURES 90)
endif()

file(GLOB PATCHZOO_CUDA_SOURCES CONFIGURE_DEPENDS
  "${PROJECT_SOURCE_DIR}/src/cuda/*.cu" "${PROJECT_SOURCE_DIR}/src/cuda/*.cpp")
add_library(patchzoo_cuda STATIC ${PATCHZOO_CUDA_SOURCES})
add_library(patchzoo::cuda ALIAS patchzoo_cuda)
set_target_properties(patchzoo_cuda PROPERTIES
  EXPORT_NAME cuda
  CUDA_ARCHITECTURES "${CMAKE_CUDA_ARCHITECTURES}"
  POSITION_INDEPENDENT_CODE ON)
target_compile_options(patchzoo_cuda PRIVATE
  $<$<COMPILE_LANGUAGE:CUDA>:-std=c++20 --expt-relaxed-constexpr>
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-unused-parameter>)
target_compile_definitions(patchzoo_cuda PUBLIC PATCHZOO_HAVE_CUDA)
target_link_libraries(patchzoo_cuda PUBLIC patchzoo::patchzoo CUDA::cudart CUDA::cublas)
# A project that vendors patchzoo compiles the kernels only if it links patchzoo::cuda.
if(NOT PATCHZOO_MAIN_PROJECT)
  set_target_properties(patchzoo_cuda PROPERTIES EXCLUDE_FROM_ALL ON)
endif()
