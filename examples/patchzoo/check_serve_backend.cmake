# ctest driver for `patchzoo serve --backend`: xtensor is accepted and reaches the zoo's loading (a
# directory without zoo.json fails there, naming it); an unknown backend is refused by the parser.
cmake_minimum_required(VERSION 3.25)

set(no_zoo "${WORK_DIR}/serve_backend_no_zoo")
file(MAKE_DIRECTORY "${no_zoo}")

execute_process(COMMAND "${PATCHZOO_CLI}" serve --zoo "${no_zoo}" --backend xtensor --port 0
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 30)
if(rc EQUAL 0 OR NOT err MATCHES "model_zoo::load: no zoo.json in")
  message(FATAL_ERROR "serve --backend xtensor on an empty directory: exit ${rc}, expected the zoo loader's error\n"
                      "stdout: ${out}\nstderr: ${err}")
endif()

execute_process(COMMAND "${PATCHZOO_CLI}" serve --zoo "${no_zoo}" --backend cuda --port 0
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 30)
if(rc EQUAL 0 OR NOT err MATCHES "--backend" OR err MATCHES "zoo.json")
  message(FATAL_ERROR "serve --backend cuda: exit ${rc}, expected CLI11 to refuse the value\nstdout: ${out}\nstderr: ${err}")
endif()
