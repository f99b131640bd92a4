# Warnings for our own targets only; never part of the exported INTERFACE.
add_library(patchzoo_warnings INTERFACE)
target_compile_options(patchzoo_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-unused-parameter>)
