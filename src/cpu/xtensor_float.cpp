// patchzoo::cpu_instances: the explicit instantiation definitions that include/patchzoo/cpu_instances.hpp
// declares for xtensor_backend and float (one unit per pair, so that a parallel build compiles them side by side).
#include "patchzoo/cpu_instances.hpp"

namespace patchzoo {
PATCHZOO_CPU_INSTANCES(, xtensor_backend, float)
}  // namespace patchzoo
