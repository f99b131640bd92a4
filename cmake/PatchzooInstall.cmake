# install(EXPORT) + package config, so that consumers write find_package(patchzoo) and link
# patchzoo::patchzoo (or only patchzoo::core, patchzoo::cpu, patchzoo::serve, patchzoo::mpi) exactly as they would after
# add_subdirectory. A header-only install needs no build: `cmake --install` right after configuring works.
include(CMakePackageConfigHelpers)

install(DIRECTORY include/patchzoo DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS patchzoo_core patchzoo_cpu patchzoo EXPORT patchzooTargets)
if(TARGET patchzoo_serve)
  install(TARGETS patchzoo_serve EXPORT patchzooTargets)
endif()
if(TARGET patchzoo_mpi)
  install(TARGETS patchzoo_mpi EXPORT patchzooTargets)
endif()
install(EXPORT patchzooTargets NAMESPACE patchzoo:: DESTINATION ${CMAKE_INSTALL_DATADIR}/cmake/patchzoo)
# The CUDA backend is a compiled library: its own export set, installed only when it was built
# (OPTIONAL), and loaded by the config only when its archive is there (find_package(... COMPONENTS cuda)).
if(TARGET patchzoo_cuda)
  install(TARGETS patchzoo_cuda EXPORT patchzooCudaTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} OPTIONAL)
  install(EXPORT patchzooCudaTargets NAMESPACE patchzoo:: DESTINATION ${CMAKE_INSTALL_DATADIR}/cmake/patchzoo)
endif()
# patchzoo::cpu_instances likewise (find_package(... COMPONENTS cpu_instances)), when PATCHZOO_CPU_INSTANCES built it.
if(TARGET patchzoo_cpu_instances)
  install(TARGETS patchzoo_cpu_instances EXPORT patchzooCpuInstancesTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
          OPTIONAL)
  install(EXPORT patchzooCpuInstancesTargets NAMESPACE patchzoo:: DESTINATION ${CMAKE_INSTALL_DATADIR}/cmake/patchzoo)
endif()

configure_package_config_file(cmake/patchzooConfig.cmake.in
  ${PROJECT_BINARY_DIR}/patchzooConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_DATADIR}/cmake/patchzoo)
# Header-only: the same package serves any architecture.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/patchzooConfigVersion.cmake
  COMPATIBILITY SameMinorVersion ARCH_INDEPENDENT)
install(FILES ${PROJECT_BINARY_DIR}/patchzooConfig.cmake ${PROJECT_BINARY_DIR}/patchzooConfigVersion.cmake
              cmake/patchzooOpenBLAS.cmake
  DESTINATION ${CMAKE_INSTALL_DATADIR}/cmake/patchzoo)
