# Finds OpenBLAS for Eigen's GEMM (EIGEN_USE_BLAS) and makes the imported target patchzoo::openblas.
# Used by the build and, installed beside patchzooConfig.cmake, by every consumer of the package, so the
# library is looked up on the consumer's machine instead of a path recorded where patchzoo was built.
# Prefers the OpenMP build of OpenBLAS: it shares libgomp's thread pool with our own parallel loops, where
# the pthread build spins its own threads against them (docs/performance.md).
if(NOT TARGET patchzoo::openblas)
  find_library(PATCHZOO_OPENBLAS_OPENMP NAMES libopenblas.so.0 openblas
               PATHS /usr/lib/x86_64-linux-gnu/openblas-openmp /usr/lib/aarch64-linux-gnu/openblas-openmp
                     /usr/lib/openblas-openmp NO_DEFAULT_PATH)
  find_library(PATCHZOO_OPENBLAS NAMES openblas)
  set(PATCHZOO_BLAS_LIBRARY "")
  if(PATCHZOO_OPENBLAS_OPENMP)
    set(PATCHZOO_BLAS_LIBRARY "${PATCHZOO_OPENBLAS_OPENMP}")
  elseif(PATCHZOO_OPENBLAS)
    set(PATCHZOO_BLAS_LIBRARY "${PATCHZOO_OPENBLAS}")
  endif()
  if(PATCHZOO_BLAS_LIBRARY)
    add_library(patchzoo::openblas UNKNOWN IMPORTED GLOBAL)  # GLOBAL: seen by an add_subdirectory consumer too
    set_target_properties(patchzoo::openblas PROPERTIES IMPORTED_LOCATION "${PATCHZOO_BLAS_LIBRARY}")
  endif()
endif()
