# ctest driver: include/patchzoo/version.hpp must state the version of project(VERSION ...) in
# CMakeLists.txt, each of MAJOR / MINOR / PATCH and the string made of them.
#   cmake -DHEADER=.../version.hpp -DPROJECT_VERSION=x.y.z -P check_version_header.cmake
cmake_minimum_required(VERSION 3.25)

foreach(var HEADER PROJECT_VERSION)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check_version_header.cmake: -D${var}=... is required")
  endif()
endforeach()
file(READ "${HEADER}" text)

string(REPLACE "." ";" parts "${PROJECT_VERSION}")
list(LENGTH parts count)
if(NOT count EQUAL 3)
  message(FATAL_ERROR "project(VERSION ${PROJECT_VERSION}) should have three parts, major.minor.patch")
endif()
list(GET parts 0 major)
list(GET parts 1 minor)
list(GET parts 2 patch)

foreach(pair "MAJOR;${major}" "MINOR;${minor}" "PATCH;${patch}" "STRING;\"${PROJECT_VERSION}\"")
  list(GET pair 0 name)
  list(GET pair 1 expected)
  if(NOT text MATCHES "#define PATCHZOO_VERSION_${name} ([^\n]+)\n")
    message(FATAL_ERROR "${HEADER} defines no PATCHZOO_VERSION_${name}")
  endif()
  if(NOT CMAKE_MATCH_1 STREQUAL expected)
    message(FATAL_ERROR "${HEADER}: PATCHZOO_VERSION_${name} is ${CMAKE_MATCH_1}, but CMakeLists.txt's "
                        "project(VERSION ${PROJECT_VERSION}) says ${expected}")
  endif()
endforeach()
message(STATUS "version.hpp agrees with project(VERSION ${PROJECT_VERSION})")
