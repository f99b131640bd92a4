# patchzoo::grpc: the Open Inference Protocol's gRPC service (include/patchzoo/serve/grpc_endpoint.hpp).
# Its messages are generated from src/grpc/grpc_predict_v2.proto by Debian's protoc and grpc_cpp_plugin
# (protobuf-compiler, protobuf-compiler-grpc) and compiled with src/grpc/grpc_endpoint.cpp: the one part
# of the serving layer that is a library, not headers. patchzoo_grpc_proto also gives tests and clients
# the generated stubs.
set(PATCHZOO_WITH_GRPC OFF)
if(PATCHZOO_WITH_SERVE AND NOT PATCHZOO_GRPC STREQUAL "OFF")
  find_package(Protobuf QUIET)
  find_package(gRPC CONFIG QUIET)
  if(Protobuf_FOUND AND gRPC_FOUND AND TARGET gRPC::grpc_cpp_plugin AND TARGET protobuf::protoc)
    set(PATCHZOO_WITH_GRPC ON)
  endif()
endif()
if(PATCHZOO_GRPC STREQUAL "ON" AND NOT PATCHZOO_WITH_GRPC)
  message(FATAL_ERROR "PATCHZOO_GRPC=ON but gRPC was not found (Debian: libgrpc++-dev libprotobuf-dev protobuf-compiler "
                      "protobuf-compiler-grpc; and patchzoo::serve's libboost-dev, libsimdjson-dev)")
endif()
message(STATUS "patchzoo: gRPC service ${PATCHZOO_WITH_GRPC}")

if(PATCHZOO_WITH_GRPC)
  set(proto "${PROJECT_SOURCE_DIR}/src/grpc/grpc_predict_v2.proto")
  set(generated "${PROJECT_BINARY_DIR}/generated/grpc")
  set(generated_files
    "${generated}/grpc_predict_v2.pb.cc" "${generated}/grpc_predict_v2.pb.h"
    "${generated}/grpc_predict_v2.grpc.pb.cc" "${generated}/grpc_predict_v2.grpc.pb.h")
  add_custom_command(
    OUTPUT ${generated_files}
    COMMAND ${CMAKE_COMMAND} -E make_directory "${generated}"
    COMMAND protobuf::protoc "--proto_path=${PROJECT_SOURCE_DIR}/src/grpc" "--cpp_out=${generated}" "--grpc_out=${generated}"
            "--plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>" "${proto}"
    DEPENDS "${proto}"
    COMMENT "Generating the Open Inference Protocol's gRPC messages"
    VERBATIM)
  add_library(patchzoo_grpc_proto STATIC ${generated_files})
  target_include_directories(patchzoo_grpc_proto SYSTEM PUBLIC "${generated}")
  target_link_libraries(patchzoo_grpc_proto PUBLIC gRPC::grpc++ protobuf::libprotobuf)

  add_library(patchzoo_grpc STATIC "${PROJECT_SOURCE_DIR}/src/grpc/grpc_endpoint.cpp")
  add_library(patchzoo::grpc ALIAS patchzoo_grpc)
  target_link_libraries(patchzoo_grpc PUBLIC patchzoo::serve PRIVATE patchzoo_grpc_proto)
  target_compile_definitions(patchzoo_grpc PRIVATE PATCHZOO_GRPC_SERVER_VERSION="${PROJECT_VERSION}")
  # A project that vendors patchzoo compiles the generated code only if it links patchzoo::grpc.
  if(NOT PATCHZOO_MAIN_PROJECT)
    set_target_properties(patchzoo_grpc_proto patchzoo_grpc PROPERTIES EXCLUDE_FROM_ALL ON)
  endif()
endif()
