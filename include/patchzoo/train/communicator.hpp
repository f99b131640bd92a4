#pragma once
// The seam between the trainers and the processes of a data-parallel job: rank, size, an in-place sum over
// all ranks of a contiguous buffer, broadcast from rank 0, all-gather and a barrier. single_process() is the
// default (every call a no-op); train/mpi_communicator.hpp runs over MPI, backend/cuda/nccl_communicator.hpp
// over NCCL. Every rank must make the same calls in the same order (collectives), as MPI requires.
//   training::communicator& comm = training::single_process();
//   comm.allreduce_sum(grads, count);            // floats: host memory, or device memory where device_memory()
//   std::vector<std::string> all = comm.allgather(mine);   // rank order
#include <cstddef>
#include <cstdlib>
#include <string>
#include <vector>

namespace patchzoo::training {

class communicator {
 public:
  virtual ~communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string name() const = 0;  // "single process", "MPI", "NCCL"
  // Whether the float allreduce takes device (CUDA) pointers instead of host ones.
  virtual bool device_memory() const { return false; }

  // data[i] = sum over ranks of data[i], on every rank; the result is the same bits on every rank.
  // Floats are the gradient transport: device memory where device_memory(), else host memory.
  virtual void allreduce_sum(float* data, std::size_t count) = 0;
  // Doubles are host numbers always (losses, counters, double-precision arenas staged through the host).
  virtual void allreduce_sum(double* data, std::size_t count) = 0;
  // Rank 0's bytes on every rank; `bytes` must be the same size everywhere.
  virtual void broadcast(void* bytes, std::size_t size) = 0;
  // Every rank's string, in rank order (sizes may differ).
  virtual std::vector<std::string> allgather(const std::string& mine) = 0;
  virtual void barrier() = 0;

  bool is_root() const { return rank() == 0; }
};

class single_process_communicator final : public communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string name() const override { return "single process"; }
  void allreduce_sum(float*, std::size_t) override {}
  void allreduce_sum(double*, std::size_t) override {}
  void broadcast(void*, std::size_t) override {}
  std::vector<std::string> allgather(const std::string& mine) override { return {mine}; }
  void barrier() override {}
};

// The communicator of a process that trains alone; what the trainers use when given none.
inline communicator& single_process() {
  static single_process_communicator alone;
  return alone;
}

// Whether a trainer given `comm` (null: none) is the one that writes files: rank 0, or a process alone.
inline bool is_root(const communicator* comm) { return comm == nullptr || comm->is_root(); }

// Whether a launcher started this process as a rank of a job: Open MPI's mpirun, PMIx (srun --mpi=pmix) and
// PMI2 (srun --mpi=pmi2) each give their ranks one of these variables.
inline bool started_as_rank() {
  return std::getenv("OMPI_COMM_WORLD_RANK") || std::getenv("PMIX_RANK") || std::getenv("PMI_RANK");
}

}  // namespace patchzoo::training
