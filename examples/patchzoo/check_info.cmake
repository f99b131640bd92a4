# ctest driver for `patchzoo info`: --json must print exactly one JSON object on stdout (checked strictly
# with python3's json module when available), the text form must list the same keys, and an unknown
# subcommand must fail with CLI11's usage error. With -DEXPECTED_VERSION=x.y.z (CMake's project version), the
# version that info and --version print must be that one.
cmake_minimum_required(VERSION 3.25)

execute_process(COMMAND "${PATCHZOO_CLI}" info --json RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "patchzoo info --json exited with ${rc}\nstdout: ${out}\nstderr: ${err}")
endif()

if(PYTHON3)
  set(json_file "${WORK_DIR}/patchzoo_info.json")
  file(WRITE "${json_file}" "${out}")
  execute_process(
    COMMAND "${PYTHON3}" -c
            "import json, sys; d = json.load(open(sys.argv[1])); assert isinstance(d, dict), type(d); print(sorted(d))"
            "${json_file}"
    RESULT_VARIABLE py_rc OUTPUT_VARIABLE py_out ERROR_VARIABLE py_err)
  if(NOT py_rc EQUAL 0)
    message(FATAL_ERROR "stdout of patchzoo info --json is not one JSON object:\n${out}\n${py_err}")
  endif()
endif()

string(JSON type ERROR_VARIABLE json_error TYPE "${out}")
if(json_error OR NOT type STREQUAL "OBJECT")
  message(FATAL_ERROR "patchzoo info --json did not print a JSON object (${json_error}):\n${out}")
endif()
foreach(key version compiler openmp_max_threads)
  string(JSON value ERROR_VARIABLE missing GET "${out}" ${key})
  if(missing)
    message(FATAL_ERROR "patchzoo info --json lacks \"${key}\":\n${out}")
  endif()
endforeach()
foreach(backend xtensor eigen cuda)
  string(JSON compiled ERROR_VARIABLE missing GET "${out}" backends ${backend} compiled)
  if(missing)
    message(FATAL_ERROR "patchzoo info --json lacks backends.${backend}.compiled:\n${out}")
  endif()
endforeach()
# Outside mpirun the program is one process of one rank, whatever transports it was built with.
string(JSON ranks ERROR_VARIABLE missing GET "${out}" distributed ranks)
if(missing OR NOT ranks EQUAL 1)
  message(FATAL_ERROR "patchzoo info --json should report distributed.ranks 1 outside a job:\n${out}")
endif()
string(JSON xtensor_compiled GET "${out}" backends xtensor compiled)
if(NOT xtensor_compiled)
  message(FATAL_ERROR "backends.xtensor.compiled should be true:\n${out}")
endif()

execute_process(COMMAND "${PATCHZOO_CLI}" info RESULT_VARIABLE rc OUTPUT_VARIABLE text ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT text MATCHES "version: [0-9]+\\.[0-9]+\\.[0-9]+\n" OR NOT text MATCHES "backends.eigen.compiled: true")
  message(FATAL_ERROR "patchzoo info (text) exited with ${rc}:\n${text}\n${err}")
endif()

if(EXPECTED_VERSION)
  string(JSON version GET "${out}" version)
  execute_process(COMMAND "${PATCHZOO_CLI}" --version RESULT_VARIABLE rc OUTPUT_VARIABLE flag_version ERROR_VARIABLE err)
  string(STRIP "${flag_version}" flag_version)
  if(NOT version STREQUAL EXPECTED_VERSION OR NOT flag_version STREQUAL EXPECTED_VERSION)
    message(FATAL_ERROR "patchzoo info says version ${version} and --version says '${flag_version}', "
                        "but the project is ${EXPECTED_VERSION}")
  endif()
endif()

execute_process(COMMAND "${PATCHZOO_CLI}" no-such-command RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0)
  message(FATAL_ERROR "patchzoo no-such-command should fail, exited 0")
endif()
