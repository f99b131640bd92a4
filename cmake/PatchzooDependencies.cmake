# Third-party packages (Debian 12 names in scripts/setup). Eigen is found without a version so that
# Eigen 5's semantic-versioned config does not reject the request; the version is checked by hand.
include(GNUInstallDirs)
find_package(Eigen3 CONFIG REQUIRED)
if(Eigen3_VERSION VERSION_LESS 3.4)
  message(FATAL_ERROR "patchzoo needs Eigen >= 3.4, found ${Eigen3_VERSION}")
endif()
find_package(xtensor CONFIG REQUIRED)
find_package(OpenMP REQUIRED COMPONENTS CXX)
find_package(Threads REQUIRED)
find_package(nlohmann_json 3.10 CONFIG REQUIRED)
find_package(ZLIB REQUIRED)

# OpenBLAS for Eigen's GEMM: the imported target patchzoo::openblas (cmake/patchzooOpenBLAS.cmake, which
# the package config runs again on the consumer's machine).
set(PATCHZOO_BLAS_LIBRARY "")
set(PATCHZOO_BLAS_USED OFF)
if(PATCHZOO_USE_BLAS)
  include(patchzooOpenBLAS)
  if(TARGET patchzoo::openblas)
    set(PATCHZOO_BLAS_USED ON)
    message(STATUS "patchzoo: Eigen GEMM through ${PATCHZOO_BLAS_LIBRARY}")
  else()
    message(STATUS "patchzoo: OpenBLAS not found, Eigen's own GEMM is used")
  endif()
endif()
