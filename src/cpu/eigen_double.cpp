// patchzoo::cpu_instances: the explicit instantiation definitions that include/patchzoo/cpu_instances.hpp
// declares for eigen_backend and double (one unit per pair, so that a parallel build compiles them side by side).
#include "patchzoo/cpu_instances.hpp"

namespace patchzoo {
PATCHZOO_CPU_INSTANCES(, eigen_backend, double)
}  // namespace patchzoo
