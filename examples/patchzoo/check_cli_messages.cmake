# ctest driver for the program's own command-line messages: an unknown subcommand is named with the ones
# there are (top level and nested), --help shows defaults, `demo` checks --data before it creates --out, and
# `dpar sample` checks the directory of --out before it loads anything.
cmake_minimum_required(VERSION 3.25)

function(run_cli)
  execute_process(COMMAND "${PATCHZOO_CLI}" ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
                  TIMEOUT 30)
  set(rc "${rc}" PARENT_SCOPE)
  set(out "${out}" PARENT_SCOPE)
  set(err "${err}" PARENT_SCOPE)
endfunction()

function(expect condition what)
  if(NOT ${condition})
    message(FATAL_ERROR "${what}\nexit ${rc}\nstdout: ${out}\nstderr: ${err}")
  endif()
endfunction()

run_cli(frobnicate)
set(named_with_list FALSE)
if(rc EQUAL 109 AND err MATCHES "unknown subcommand 'frobnicate': patchzoo takes one of [a-z, -]*demo"
   AND err MATCHES "serve")
  set(named_with_list TRUE)
endif()
expect(named_with_list "patchzoo frobnicate: expected exit 109 naming the word and listing the subcommands")

run_cli(dpar frobnicate)
set(nested_named FALSE)
if(rc EQUAL 109 AND err MATCHES "unknown subcommand 'frobnicate': patchzoo dpar takes one of train, sample, flops")
  set(nested_named TRUE)
endif()
expect(nested_named "patchzoo dpar frobnicate: expected dpar's subcommands")

run_cli(tiny-lm --help)
set(tiny_defaults FALSE)
if(rc EQUAL 0 AND out MATCHES "--lr FLOAT[^\n]*=0\\.003")
  set(tiny_defaults TRUE)
endif()
expect(tiny_defaults "patchzoo tiny-lm --help: expected --lr's default 0.003")

run_cli(demo --help)
set(demo_defaults FALSE)
if(rc EQUAL 0 AND out MATCHES "--out TEXT=runs/demo")
  set(demo_defaults TRUE)
endif()
expect(demo_defaults "patchzoo demo --help: expected --out's default runs/demo")

set(missing_data "${WORK_DIR}/cli_messages_no_data")
set(demo_out "${WORK_DIR}/cli_messages_demo_out")
file(REMOVE_RECURSE "${missing_data}" "${demo_out}")
run_cli(demo --data "${missing_data}" --out "${demo_out}")
string(FIND "${err}" "no Fashion-MNIST in ${missing_data}" named_at)  # FIND: the path is no regex
set(refused_first FALSE)
if(rc EQUAL 1 AND named_at GREATER_EQUAL 0 AND NOT EXISTS "${demo_out}")
  set(refused_first TRUE)
endif()
expect(refused_first "patchzoo demo --data <missing>: expected the data error and no ${demo_out}")

# A sample grid into a directory that does not exist is refused before anything is loaded or sampled.
run_cli(dpar sample --out "${WORK_DIR}/cli_messages_no_dir/grid.png" --checkpoint "${CMAKE_CURRENT_LIST_FILE}"
        --tokenizer "${WORK_DIR}")
set(missing_dir_named FALSE)
if(NOT rc EQUAL 0 AND err MATCHES "cli_messages_no_dir of [^\n]*grid.png does not exist")
  set(missing_dir_named TRUE)
endif()
expect(missing_dir_named "patchzoo dpar sample --out <missing dir>/grid.png: expected the directory named")
