# ctest driver: README.md must hold the whole of the example file EXAMPLE inside a ```cpp block, so that the
# README's code is a program that CMake builds and ctest runs.
#   cmake -DREADME=README.md -DEXAMPLE=examples/train_tiny_lm.cpp -P check_readme_snippet.cmake
cmake_minimum_required(VERSION 3.25)
file(READ "${README}" readme)
file(READ "${EXAMPLE}" example)
string(FIND "${readme}" "```cpp\n${example}```\n" at)
if(at EQUAL -1)
  message(FATAL_ERROR "${README} does not hold ${EXAMPLE} verbatim in a ```cpp block; copy the file into the README")
endif()
message(STATUS "README.md holds ${EXAMPLE}")
