# patchzoo::cpu_instances: an optional static library of explicit instantiations (src/cpu/) of the heaviest
# class templates over the CPU backends, for programs that include patchzoo/cpu_instances.hpp (its
# `extern template` declarations) to compile them once instead of in every translation unit. patchzoo::patchzoo
# stays header-only without it. Created after cmake/PatchzooChecks.cmake, so that a checking build's
# directory-wide sanitizer flags reach it as they reach the tests that link it.
file(GLOB PATCHZOO_CPU_INSTANCE_SOURCES CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/src/cpu/*.cpp")
add_library(patchzoo_cpu_instances STATIC ${PATCHZOO_CPU_INSTANCE_SOURCES})
add_library(patchzoo::cpu_instances ALIAS patchzoo_cpu_instances)
set_target_properties(patchzoo_cpu_instances PROPERTIES
  EXPORT_NAME cpu_instances
  POSITION_INDEPENDENT_CODE ON)
target_compile_options(patchzoo_cpu_instances PRIVATE -Wall -Wextra -Wno-unused-parameter)
target_compile_definitions(patchzoo_cpu_instances PUBLIC PATCHZOO_HAVE_CPU_INSTANCES)
target_link_libraries(patchzoo_cpu_instances PUBLIC patchzoo::patchzoo)
# A project that vendors patchzoo compiles the instances only if it links patchzoo::cpu_instances.
if(NOT PATCHZOO_MAIN_PROJECT)
  set_target_properties(patchzoo_cpu_instances PROPERTIES EXCLUDE_FROM_ALL ON)
endif()
