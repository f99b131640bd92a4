#pragma once
// The communicator over MPI (Open MPI from Debian; link patchzoo::mpi). mpi_session initialises MPI once per
// process and finalises it on exit; mpi_communicator runs the collectives on a duplicate of MPI_COMM_WORLD, so
// a program's own MPI traffic never mixes with the trainers'. Errors return instead of aborting
// (MPI_ERRORS_RETURN) and become patchzoo::error with MPI's text.
//   training::mpi_session mpi(argc, argv);
//   training::mpi_communicator comm;   // rank(), size() of the job started by mpirun / srun
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "patchzoo/core/error.hpp"
#include "patchzoo/train/communicator.hpp"

namespace patchzoo::training {

namespace mpi_detail {

inline void ok(int code, const char* call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw error(std::string("MPI: ") + call + " failed: " + std::string(text, static_cast<std::size_t>(length)));
}

// MPI counts are int: a larger buffer goes in pieces of at most 2^30 elements.
template <class F>
void in_chunks(std::size_t count, F&& on_chunk) {
  constexpr std::size_t chunk = std::size_t{1} << 30;
  for (std::size_t at = 0; at < count; at += chunk) on_chunk(at, static_cast<int>(std::min(chunk, count - at)));
}

}  // namespace mpi_detail

class mpi_session {
 public:
  mpi_session(int& argc, char**& argv) {
    int initialised = 0;
    MPI_Initialized(&initialised);
    if (!initialised) {
      mpi_detail::ok(MPI_Init(&argc, &argv), "MPI_Init");
      owner_ = true;
    }
  }
  ~mpi_session() {
    int finalised = 0;
    MPI_Finalized(&finalised);
    if (owner_ && !finalised) MPI_Finalize();
  }
  mpi_session(const mpi_session&) = delete;
  mpi_session& operator=(const mpi_session&) = delete;

  // Ends every rank of the job now (a rank that failed alone cannot leave the others waiting in a collective).
  [[noreturn]] static void abort_job(int code) {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::abort();
  }

 private:
  bool owner_ = false;
};

class mpi_communicator final : public communicator {
 public:
  mpi_communicator() {
    mpi_detail::ok(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_Comm_dup");
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
  }
  ~mpi_communicator() override {
    int finalised = 0;
    MPI_Finalized(&finalised);
    if (!finalised) MPI_Comm_free(&comm_);
  }
  mpi_communicator(const mpi_communicator&) = delete;
  mpi_communicator& operator=(const mpi_communicator&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string name() const override { return "MPI"; }

  void allreduce_sum(float* data, std::size_t count) override { reduce(data, count, MPI_FLOAT); }
  void allreduce_sum(double* data, std::size_t count) override { reduce(data, count, MPI_DOUBLE); }

  void broadcast(void* bytes, std::size_t size) override {
    mpi_detail::in_chunks(size, [&](std::size_t at, int n) {
      mpi_detail::ok(MPI_Bcast(static_cast<char*>(bytes) + at, n, MPI_BYTE, 0, comm_), "MPI_Bcast");
    });
  }

  std::vector<std::string> allgather(const std::string& mine) override {
    check(mine.size() <= static_cast<std::size_t>(std::numeric_limits<int>::max()), "mpi_communicator::allgather",
          mine.size(), " bytes exceed MPI's int count");
    const int my_size = static_cast<int>(mine.size());
    std::vector<int> sizes(static_cast<std::size_t>(size_)), offsets(static_cast<std::size_t>(size_));
    mpi_detail::ok(MPI_Allgather(&my_size, 1, MPI_INT, sizes.data(), 1, MPI_INT, comm_), "MPI_Allgather");
    long long total = 0;
    for (int r = 0; r < size_; ++r) {
      offsets[static_cast<std::size_t>(r)] = static_cast<int>(total);
      total += sizes[static_cast<std::size_t>(r)];
    }
    check(total <= std::numeric_limits<int>::max(), "mpi_communicator::allgather", total,
          " bytes over all ranks exceed MPI's int count");
    std::string all(static_cast<std::size_t>(total), '\0');
    mpi_detail::ok(MPI_Allgatherv(mine.data(), my_size, MPI_BYTE, all.data(), sizes.data(), offsets.data(), MPI_BYTE,
                                  comm_),
                   "MPI_Allgatherv");
    std::vector<std::string> out;
    for (int r = 0; r < size_; ++r)
      out.push_back(all.substr(static_cast<std::size_t>(offsets[static_cast<std::size_t>(r)]),
                               static_cast<std::size_t>(sizes[static_cast<std::size_t>(r)])));
    return out;
  }

  // Waits without spinning: a rank that waits here while rank 0 writes files or measures latency leaves its
  // core to rank 0 (MPI_Barrier busy-polls).
  void barrier() override {
    MPI_Request request = MPI_REQUEST_NULL;
    mpi_detail::ok(MPI_Ibarrier(comm_, &request), "MPI_Ibarrier");
    for (int done = 0;;) {
      mpi_detail::ok(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Test");
      if (done) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

 private:
  // Reduce to rank 0 then broadcast: every rank gets rank 0's bits, which MPI_Allreduce does not promise
  // for floating point (its algorithm may sum in a different order on different ranks).
  void reduce(void* data, std::size_t count, MPI_Datatype type) {
    int element = 0;
    MPI_Type_size(type, &element);
    mpi_detail::in_chunks(count, [&](std::size_t at, int n) {
      char* p = static_cast<char*>(data) + at * static_cast<std::size_t>(element);
      mpi_detail::ok(MPI_Reduce(rank_ == 0 ? MPI_IN_PLACE : p, rank_ == 0 ? p : nullptr, n, type, MPI_SUM, 0, comm_),
                     "MPI_Reduce");
      mpi_detail::ok(MPI_Bcast(p, n, type, 0, comm_), "MPI_Bcast");
    });
  }

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
};

}  // namespace patchzoo::training
