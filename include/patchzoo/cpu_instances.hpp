#pragma once
// Opt-in compile-time saving: explicit instantiation declarations (`extern template class`) of the heaviest
// class templates over the two CPU backends (eigen_backend, xtensor_backend) and both scalar types:
//   nn::transformer, training::adamw_optimizer, dpar::dpar_model, dpar::llamagen_model.
// A translation unit that includes this header does not compile those classes' members itself: it calls
// the copies compiled once into the static library patchzoo::cpu_instances (src/cpu/; CMake option
// PATCHZOO_CPU_INSTANCES), which the program must then link:
//   target_link_libraries(app PRIVATE patchzoo::cpu_instances)   # brings patchzoo::patchzoo with it
// A program that does not include this header is unaffected and needs no library: patchzoo stays header-only.
// Other backends, other scalar types and all other templates are still instantiated where they are used.
// The library and its users must be compiled with the same patchzoo macros (EIGEN_USE_BLAS and the like, as
// everywhere in patchzoo); linking the target gives the user patchzoo::cpu's definitions, as the library has.
#include "patchzoo/backend/eigen/eigen_backend.hpp"
#include "patchzoo/backend/xtensor/xtensor_backend.hpp"
#include "patchzoo/dpar/dpar_model.hpp"
#include "patchzoo/dpar/llamagen_model.hpp"
#include "patchzoo/nn/transformer.hpp"
#include "patchzoo/train/adamw.hpp"

// The one list of instances over backend B and scalar T, for this header (KEYWORD = extern) and for the
// library's sources (KEYWORD empty: the explicit instantiation definitions, which may follow these
// declarations). Used inside namespace patchzoo.
#define PATCHZOO_CPU_INSTANCES(KEYWORD, B, T)           \
  KEYWORD template class nn::transformer<B, T>;         \
  KEYWORD template class training::adamw_optimizer<B, T>; \
  KEYWORD template class dpar::dpar_model<B, T>;        \
  KEYWORD template class dpar::llamagen_model<B, T>;

namespace patchzoo {
PATCHZOO_CPU_INSTANCES(extern, eigen_backend, float)
PATCHZOO_CPU_INSTANCES(extern, eigen_backend, double)
PATCHZOO_CPU_INSTANCES(extern, xtensor_backend, float)
PATCHZOO_CPU_INSTANCES(extern, xtensor_backend, double)
}  // namespace patchzoo
