// `patchzoo info [--json]`: what this build of patchzoo can use on this machine: version, backends,
// OpenMP threads, BLAS, CPU features, the compiler, and the data-parallel transports (MPI, NCCL) with the
// job this process belongs to.
#include <omp.h>

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "patchzoo/backend/eigen/eigen_backend.hpp"
#include "patchzoo/backend/xtensor/xtensor_backend.hpp"
#include "patchzoo/util/report.hpp"
#include "patchzoo/version.hpp"
#include "distributed.hpp"
#include "subcommands.hpp"
#ifdef PATCHZOO_HAVE_CUDA
#include "patchzoo/backend/cuda/cuda_backend.hpp"
#endif

#ifdef PATCHZOO_HAVE_BLAS
// OpenBLAS's own introspection; the build only ever links OpenBLAS when PATCHZOO_HAVE_BLAS is set.
extern "C" char* openblas_get_config();
extern "C" int openblas_get_parallel();
#endif

namespace {

using nlohmann::ordered_json;

ordered_json backends() {
  ordered_json out;
  out["xtensor"] = {{"compiled", true},
                    {"version", std::to_string(XTENSOR_VERSION_MAJOR) + "." + std::to_string(XTENSOR_VERSION_MINOR) +
                                    "." + std::to_string(XTENSOR_VERSION_PATCH)}};
  out["eigen"] = {{"compiled", true},
                  {"version", std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) + "." +
                                  std::to_string(EIGEN_MINOR_VERSION)}};
#ifdef PATCHZOO_HAVE_CUDA
  ordered_json devices = ordered_json::array();
  const int count = patchzoo::cuda_device_count();
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) == cudaSuccess)
      devices.push_back({{"name", prop.name},
                         {"compute_capability", std::to_string(prop.major) + "." + std::to_string(prop.minor)},
                         {"memory_bytes", prop.totalGlobalMem}});
  }
  out["cuda"] = {{"compiled", true}, {"device_count", count}, {"devices", devices}};
#else
  out["cuda"] = {{"compiled", false}};
#endif
  return out;
}

ordered_json blas() {
#ifdef PATCHZOO_HAVE_BLAS
  static const char* const threading[] = {"sequential", "pthreads", "openmp"};
  const int parallel = openblas_get_parallel();
  return {{"enabled", true},
          {"library", PATCHZOO_BLAS_LIBRARY_PATH},
          {"config", openblas_get_config()},
          {"threading", parallel >= 0 && parallel <= 2 ? threading[parallel] : "unknown"}};
#else
  return {{"enabled", false}};
#endif
}

// What the CPU running this program supports, next to what the compiler was allowed to emit.
ordered_json cpu_features() {
  __builtin_cpu_init();
  ordered_json runtime = {{"avx2", __builtin_cpu_supports("avx2") != 0},
                          {"fma", __builtin_cpu_supports("fma") != 0},
                          {"avx512f", __builtin_cpu_supports("avx512f") != 0}};
  ordered_json compiled_for;
#if defined(__AVX2__)
  compiled_for["avx2"] = true;
#else
  compiled_for["avx2"] = false;
#endif
#if defined(__FMA__)
  compiled_for["fma"] = true;
#else
  compiled_for["fma"] = false;
#endif
#if defined(__AVX512F__)
  compiled_for["avx512f"] = true;
#else
  compiled_for["avx512f"] = false;
#endif
  return {{"runtime", runtime}, {"compiled_for", compiled_for}};
}

// The transports this build can train over, and the job this process runs in.
ordered_json distributed() {
  auto& comm = patchzoo::cli::job_communicator();
  return {{"mpi", patchzoo::cli::built_with_mpi()},
          {"nccl", patchzoo::cli::built_with_nccl()},
          {"job", patchzoo::cli::job_description()},
          {"rank", comm.rank()},
          {"ranks", comm.size()}};
}

std::string compiler() {
#if defined(__clang__)
  return "clang " __clang_version__;
#elif defined(__GNUC__)
  return "gcc " __VERSION__;
#else
  return "unknown";
#endif
}

void run_info(bool json) {
  patchzoo::report r;
  r["version"] = PATCHZOO_VERSION_STRING;
  r["backends"] = backends();
  r["openmp_max_threads"] = omp_get_max_threads();
  r["blas"] = blas();
  r["cpu"] = cpu_features();
  r["distributed"] = distributed();
  r["compiler"] = compiler();
  r["cxx_standard"] = __cplusplus;
  r.emit(json);
}

}  // namespace

void register_info(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "Show the version, compiled-in backends, threads, BLAS and CPU features");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "Print one JSON object on stdout instead of text");
  cmd->callback([json] { run_info(*json); });
}
