// Joining an MPI job from the CLI: see distributed.hpp.
#include "distributed.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <set>

#include "patchzoo/core/error.hpp"
#ifdef PATCHZOO_HAVE_MPI
#include "patchzoo/train/mpi_communicator.hpp"
#endif

namespace patchzoo::cli {

namespace {

#ifdef PATCHZOO_HAVE_MPI
std::unique_ptr<training::mpi_session> session;
std::unique_ptr<training::mpi_communicator> world;
#endif
int error_fd = STDERR_FILENO;  // stderr as it was before the quiet ranks were silenced

int env_int(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : 0;
}

}  // namespace

bool built_with_mpi() {
#ifdef PATCHZOO_HAVE_MPI
  return true;
#else
  return false;
#endif
}

bool built_with_nccl() {
#ifdef PATCHZOO_HAVE_NCCL
  return true;
#else
  return false;
#endif
}

void join_job(int& argc, char**& argv) {
  if (!training::started_as_rank()) return;
#ifdef PATCHZOO_HAVE_MPI
  session = std::make_unique<training::mpi_session>(argc, argv);
  world = std::make_unique<training::mpi_communicator>();
  if (world->rank() != 0) {  // one voice: rank 0's progress and results; the others keep a channel for errors
    error_fd = dup(STDERR_FILENO);
    const int null = open("/dev/null", O_WRONLY);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    close(null);
  }
#else
  (void)argc;
  (void)argv;
  if (env_int("OMPI_COMM_WORLD_SIZE") > 1 || env_int("PMI_SIZE") > 1 || env_int("SLURM_NTASKS") > 1)
    throw error("patchzoo was started as one of several MPI ranks, but this build has no MPI (configure it with "
                "Open MPI installed: Debian libopenmpi-dev openmpi-bin)");
#endif
}

training::communicator& job_communicator() {
#ifdef PATCHZOO_HAVE_MPI
  if (world) return *world;
#endif
  return training::single_process();
}

std::string job_description() {
  auto& comm = job_communicator();
  if (comm.size() == 1) return "single process";
  return comm.name() + ", rank " + std::to_string(comm.rank()) + " of " + std::to_string(comm.size());
}

void check_runs_in_job(int argc, char** argv) {
  if (job_communicator().size() == 1) return;
  static const std::set<std::string> shared{"tokenizer train", "entropy train", "dpar train", "zoo train", "info"};
  std::string words;
  for (int i = 1, taken = 0; i < argc && taken < 2; ++i) {
    const std::string w = argv[i];
    if (w.starts_with("-")) break;
    words += (taken++ ? " " : "") + w;
    if (shared.contains(words)) return;
  }
  throw error("'patchzoo " + words + "' runs in one process; under mpirun / srun only the train subcommands " +
              "(tokenizer, entropy, dpar, zoo) share their work between ranks");
}

int fail(const std::string& message) {
  auto& comm = job_communicator();
  const std::string line = "patchzoo: " + (comm.rank() == 0 ? std::string() : "rank " + std::to_string(comm.rank()) + ": ") +
                           "error: " + message + "\n";
  if (::write(error_fd, line.data(), line.size()) < 0) std::cerr << line;
#ifdef PATCHZOO_HAVE_MPI
  if (comm.size() > 1) training::mpi_session::abort_job(1);
#endif
  return 1;
}

int threads_per_rank(int threads) {
  const int local = std::max({1, env_int("OMPI_COMM_WORLD_LOCAL_SIZE"), env_int("MPI_LOCALNRANKS"),
                              env_int("SLURM_NTASKS_PER_NODE")});
  return job_communicator().size() > 1 ? std::max(1, threads / local) : threads;
}

}  // namespace patchzoo::cli
