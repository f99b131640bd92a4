#pragma once
// The CLI's place in a data-parallel job (docs/distributed.md). Under mpirun or srun, main() joins the job
// before parsing; the `train` subcommands hand job_communicator() to their trainers, every other subcommand
// refuses to run on more than one rank. Ranks other than 0 print nothing but their errors.
#include <string>

#include "patchzoo/train/communicator.hpp"

namespace patchzoo::cli {

// Joins the MPI job when a launcher started this process (Open MPI, PMIx or PMI variables); else nothing.
void join_job(int& argc, char**& argv);
// The job's ranks, or training::single_process() outside a job.
training::communicator& job_communicator();
// "MPI, rank 1 of 2", or "single process".
std::string job_description();
// Whether this build can join MPI jobs and drive NCCL.
bool built_with_mpi();
bool built_with_nccl();
// An error unless `subcommand` is one the ranks of a job can share (the train subcommands).
void check_runs_in_job(int argc, char** argv);
// Prints an error (rank-tagged on ranks other than 0) and, in a job of several ranks, ends every rank: one
// rank's failure must not leave the others waiting in a collective.
int fail(const std::string& message);
// Splits OpenMP's threads among the ranks that share this machine.
int threads_per_rank(int threads);

}  // namespace patchzoo::cli
