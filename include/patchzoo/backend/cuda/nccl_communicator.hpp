#pragma once
// The communicator over NCCL for the cuda backend: allreduce_sum takes device pointers (device_memory() is
// true), so average_gradients sums the grads arena where it lives, GPU to GPU. NCCL needs a unique id
// shared by all ranks before it starts: a host communicator (MPI) broadcasts it, and also carries the byte
// collectives (broadcast, allgather, barrier) that NCCL's device-only API does not. One GPU per rank: rank r
// uses device r modulo the devices it sees (launchers usually set CUDA_VISIBLE_DEVICES per rank). Host code
// only; link patchzoo::nccl.
//   training::mpi_communicator mpi;
//   nccl_communicator comm(mpi);   // then train with cfg.comm = &comm on cuda_backend
#include <cuda_runtime_api.h>
#include <nccl.h>

#include <cstddef>
#include <string>
#include <vector>

#include "patchzoo/backend/cuda/cuda_memory.hpp"
#include "patchzoo/train/communicator.hpp"

namespace patchzoo {

inline void nccl_check(ncclResult_t status, const char* call) {
  if (status != ncclSuccess) throw error(detail::concat("NCCL: ", call, " failed: ", ncclGetErrorString(status)));
}

class nccl_communicator final : public training::communicator {
 public:
  explicit nccl_communicator(training::communicator& bootstrap) : bootstrap_(bootstrap) {
    const int devices = cuda_device_count();
    check(devices > 0, "nccl_communicator", "no CUDA device on rank ", bootstrap.rank());
    cuda_check(cudaSetDevice(bootstrap.rank() % devices), "nccl_communicator: cudaSetDevice");
    ncclUniqueId id{};
    if (bootstrap.is_root()) nccl_check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    bootstrap.broadcast(&id, sizeof(id));
    nccl_check(ncclCommInitRank(&comm_, bootstrap.size(), id, bootstrap.rank()), "ncclCommInitRank");
    cuda_check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "nccl_communicator: cudaStreamCreate");
  }
  ~nccl_communicator() override {
    if (stream_) cudaStreamDestroy(stream_);
    if (comm_) ncclCommDestroy(comm_);
  }
  nccl_communicator(const nccl_communicator&) = delete;
  nccl_communicator& operator=(const nccl_communicator&) = delete;

  int rank() const override { return bootstrap_.rank(); }
  int size() const override { return bootstrap_.size(); }
  std::string name() const override { return "NCCL"; }
  bool device_memory() const override { return true; }

  // Device buffers. NCCL's ring gives every rank the same bits; the call returns when the sum is in place.
  void allreduce_sum(float* data, std::size_t count) override { reduce(data, count, ncclFloat32); }
  void allreduce_sum(double* data, std::size_t count) override {
    // The trainers' host statistics (losses, FLOPs) arrive here as host numbers: those go over the bootstrap.
    bootstrap_.allreduce_sum(data, count);
  }
  void broadcast(void* bytes, std::size_t size) override { bootstrap_.broadcast(bytes, size); }
  std::vector<std::string> allgather(const std::string& mine) override { return bootstrap_.allgather(mine); }
  void barrier() override { bootstrap_.barrier(); }

 private:
  void reduce(void* data, std::size_t count, ncclDataType_t type) {
    cuda_check(cudaDeviceSynchronize(), "nccl_communicator: cudaDeviceSynchronize");  // the backward pass is done
    nccl_check(ncclAllReduce(data, data, count, type, ncclSum, comm_, stream_), "ncclAllReduce");
    cuda_check(cudaStreamSynchronize(stream_), "nccl_communicator: cudaStreamSynchronize");
  }

  training::communicator& bootstrap_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
};

}  // namespace patchzoo
