# ctest driver: configure, build and run one consumer project in a fresh work directory.
#   cmake -DMODE=find_package|add_subdirectory -DCONSUMER_DIR=... -DWORK_DIR=... -DPATCHZOO_SOURCE_DIR=...
#         -DPATCHZOO_BINARY_DIR=... -DGENERATOR=... -DCXX_COMPILER=... [-DLAUNCHER=ccache]
#         [-DEXPECTED_VERSION=x.y.z: the version the consumer must print from patchzoo/version.hpp]
#         [-DWITH_MPI=ON: also build the patchzoo::mpi consumer] -P run_consumer.cmake
cmake_minimum_required(VERSION 3.25)

foreach(var MODE CONSUMER_DIR WORK_DIR PATCHZOO_SOURCE_DIR PATCHZOO_BINARY_DIR GENERATOR CXX_COMPILER)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_consumer.cmake: -D${var}=... is required")
  endif()
endforeach()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

set(configure_args -G "${GENERATOR}" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")
if(LAUNCHER)
  list(APPEND configure_args "-DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER}")
endif()

if(MODE STREQUAL "find_package")
  # Straight after configuring, as a header-only user would: nothing needs building before the install.
  set(prefix "${WORK_DIR}/prefix")
  execute_process(COMMAND "${CMAKE_COMMAND}" --install "${PATCHZOO_BINARY_DIR}" --prefix "${prefix}"
                  COMMAND_ERROR_IS_FATAL ANY OUTPUT_QUIET)
  if(NOT EXISTS "${prefix}/include/patchzoo/backend/eigen/eigen_backend.hpp")
    message(FATAL_ERROR "install into ${prefix} did not place the patchzoo headers")
  endif()
  list(APPEND configure_args "-DCMAKE_PREFIX_PATH=${prefix}")
elseif(MODE STREQUAL "add_subdirectory")
  list(APPEND configure_args "-DPATCHZOO_SOURCE_DIR=${PATCHZOO_SOURCE_DIR}")
else()
  message(FATAL_ERROR "run_consumer.cmake: unknown MODE '${MODE}'")
endif()

execute_process(COMMAND "${CMAKE_COMMAND}" -S "${CONSUMER_DIR}" -B "${WORK_DIR}/build" ${configure_args}
                COMMAND_ERROR_IS_FATAL ANY)
# The consumer's default build: with add_subdirectory it must not compile patchzoo's CUDA or gRPC libraries.
execute_process(COMMAND "${CMAKE_COMMAND}" --build "${WORK_DIR}/build" COMMAND_ERROR_IS_FATAL ANY)
file(GLOB_RECURSE built_libraries "${WORK_DIR}/build/*.a")
if(built_libraries)
  message(FATAL_ERROR "consumer (${MODE}): its default build compiled libraries it does not link: ${built_libraries}")
endif()
execute_process(COMMAND "${WORK_DIR}/build/consumer" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "matmul ok")
  message(FATAL_ERROR "consumer (${MODE}) failed with exit code ${rc}\nstdout: ${out}\nstderr: ${err}")
endif()
string(REPLACE "." "\\." expected_version_regex "${EXPECTED_VERSION}")
if(EXPECTED_VERSION AND NOT out MATCHES "patchzoo ${expected_version_regex} matmul ok")
  message(FATAL_ERROR "consumer (${MODE}) printed another version than ${EXPECTED_VERSION}: ${out}")
endif()
message(STATUS "consumer (${MODE}): ${out}")

# A core-only project against the same installed package: the router example, without the backends.
if(MODE STREQUAL "find_package")
  execute_process(COMMAND "${CMAKE_COMMAND}" -S "${CONSUMER_DIR}/../core_consumer" -B "${WORK_DIR}/core_build" ${configure_args}
                  COMMAND_ERROR_IS_FATAL ANY)
  execute_process(COMMAND "${CMAKE_COMMAND}" --build "${WORK_DIR}/core_build" COMMAND_ERROR_IS_FATAL ANY)
  execute_process(COMMAND "${WORK_DIR}/core_build/example_route_over_zoo" RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "examples/route_over_zoo.cpp against patchzoo::core exited ${rc}\n${out}${err}")
  endif()
  message(STATUS "example_route_over_zoo (patchzoo::core of the installed package): ${out}")
endif()

# patchzoo::mpi, when the package was built with Open MPI (WITH_MPI).
if(MODE STREQUAL "find_package" AND WITH_MPI)
  execute_process(COMMAND "${CMAKE_COMMAND}" -S "${CONSUMER_DIR}/../mpi_consumer" -B "${WORK_DIR}/mpi_build" ${configure_args}
                  COMMAND_ERROR_IS_FATAL ANY)
  execute_process(COMMAND "${CMAKE_COMMAND}" --build "${WORK_DIR}/mpi_build" COMMAND_ERROR_IS_FATAL ANY)
  execute_process(COMMAND "${WORK_DIR}/mpi_build/mpi_consumer" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0 OR NOT out MATCHES "mpi ok")
    message(FATAL_ERROR "mpi_consumer (patchzoo::mpi of the installed package) exited ${rc}\n${out}${err}")
  endif()
  message(STATUS "mpi_consumer (patchzoo::mpi of the installed package): ${out}")
endif()

# The opt-in compiled instances, when this build made libpatchzoo_cpu_instances.a before the install: a
# project that includes patchzoo/cpu_instances.hpp and links patchzoo::cpu_instances. Its own object must
# leave transformer::forward to the library (an undefined symbol), which is what the header is for.
if(MODE STREQUAL "find_package")
  file(GLOB instances_archive "${prefix}/lib*/libpatchzoo_cpu_instances.a")
  if(instances_archive)
    execute_process(COMMAND "${CMAKE_COMMAND}" -S "${CONSUMER_DIR}/../instances_consumer" -B "${WORK_DIR}/instances_build"
                            ${configure_args} COMMAND_ERROR_IS_FATAL ANY)
    execute_process(COMMAND "${CMAKE_COMMAND}" --build "${WORK_DIR}/instances_build" COMMAND_ERROR_IS_FATAL ANY)
    execute_process(COMMAND "${WORK_DIR}/instances_build/instances_consumer" RESULT_VARIABLE rc OUTPUT_VARIABLE out
                    ERROR_VARIABLE err)
    if(NOT rc EQUAL 0 OR NOT out MATCHES "instances ok")
      message(FATAL_ERROR "instances_consumer exited ${rc}\n${out}${err}")
    endif()
    file(GLOB_RECURSE instances_objects "${WORK_DIR}/instances_build/*instances_consumer.cpp.o")
    find_program(NM_PROGRAM nm)
    if(NM_PROGRAM AND instances_objects)
      execute_process(COMMAND "${NM_PROGRAM}" -C --defined-only ${instances_objects} OUTPUT_VARIABLE defined
                      COMMAND_ERROR_IS_FATAL ANY)
      if(defined MATCHES "transformer<patchzoo::eigen_backend, float>::forward")
        message(FATAL_ERROR "instances_consumer compiled transformer::forward itself despite patchzoo/cpu_instances.hpp")
      endif()
    endif()
    message(STATUS "instances_consumer (patchzoo::cpu_instances of the installed package): ${out}")
  else()
    message(STATUS "no libpatchzoo_cpu_instances.a in the install (not built before it): instances_consumer skipped")
  endif()
endif()
