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

# Prefer the OpenMP build of OpenBLAS: it shares libgomp's thread pool with our own parallel loops,
# where the pthread build spins its own threads against them (see docs/performance.md).
set(PATCHZOO_BLAS_LIBRARY "")
if(PATCHZOO_USE_BLAS)
  find_library(PATCHZOO_OPENBLAS_OPENMP NAMES libopenblas.so.0 openblas
               PATHS /usr/lib/x86_64-linux-gnu/openblas-openmp /usr/lib/openblas-openmp NO_DEFAULT_PATH)
  if(PATCHZOO_OPENBLAS_OPENMP)
    set(PATCHZOO_BLAS_LIBRARY ${PATCHZOO_OPENBLAS_OPENMP})
  else()
    find_library(PATCHZOO_OPENBLAS NAMES openblas)
    if(PATCHZOO_OPENBLAS)
      set(PATCHZOO_BLAS_LIBRARY ${PATCHZOO_OPENBLAS})
    endif()
  endif()
  if(PATCHZOO_BLAS_LIBRARY)
    message(STATUS "patchzoo: Eigen GEMM through ${PATCHZOO_BLAS_LIBRARY}")
  else()
    message(STATUS "patchzoo: OpenBLAS not found, Eigen's own GEMM is used")
  endif()
endif()

function(patchzoo_link_dependencies target)
  target_link_libraries(${target} INTERFACE Eigen3::Eigen xtensor OpenMP::OpenMP_CXX Threads::Threads
                        nlohmann_json::nlohmann_json ZLIB::ZLIB)
  if(PATCHZOO_BLAS_LIBRARY)
    # Set for every patchzoo translation unit alike: Eigen macros that differ between units break the ODR.
    target_compile_definitions(${target} INTERFACE EIGEN_USE_BLAS PATCHZOO_HAVE_BLAS)
    target_link_libraries(${target} INTERFACE ${PATCHZOO_BLAS_LIBRARY})
  endif()
endfunction()
