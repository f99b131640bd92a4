# install(EXPORT) + package config, so that consumers write find_package(patchzoo) and link
# patchzoo::patchzoo exactly as they would after add_subdirectory.
include(CMakePackageConfigHelpers)

install(DIRECTORY include/patchzoo DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS patchzoo EXPORT patchzooTargets)
if(TARGET patchzoo_serve)
  install(TARGETS patchzoo_serve EXPORT patchzooTargets)
endif()
# The optional CUDA backend is compiled: its static library joins the same export set (patchzoo::cuda).
if(TARGET patchzoo_cuda)
  install(TARGETS patchzoo_cuda EXPORT patchzooTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
endif()
install(EXPORT patchzooTargets NAMESPACE patchzoo:: DESTINATION ${CMAKE_INSTALL_DATADIR}/cmake/patchzoo)

configure_package_config_file(cmake/patchzooConfig.cmake.in
  ${PROJECT_BINARY_DIR}/patchzooConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_DATADIR}/cmake/patchzoo)
# Header-only: the same package serves any architecture.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/patchzooConfigVersion.cmake
  COMPATIBILITY SameMinorVersion ARCH_INDEPENDENT)
install(FILES ${PROJECT_BINARY_DIR}/patchzooConfig.cmake ${PROJECT_BINARY_DIR}/patchzooConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_DATADIR}/cmake/patchzoo)
