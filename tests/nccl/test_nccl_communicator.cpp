// The NCCL communicator on the GPUs of this machine, bootstrapped by a single process (one rank): the device
// allreduce path runs end to end (ncclCommInitRank, ncclAllReduce on device memory) and average_gradients
// keeps a cuda arena in place. Several ranks need several GPUs and mpirun (docs/distributed.md). Without a
// CUDA device the test logs a skip, as the other CUDA tests do; this file also proves the header compiles.
#include <doctest/doctest.h>

#include <vector>

#include "cuda/cuda_fixture.hpp"
#include "patchzoo/backend/cuda/nccl_communicator.hpp"
#include "patchzoo/nn/param_arena.hpp"
#include "patchzoo/train/data_parallel.hpp"

using namespace patchzoo;

TEST_CASE("nccl communicator: one rank sums device memory in place") {
  if (!test::cuda_device_present()) return;
  cuda_backend be;
  nccl_communicator comm(training::single_process());
  CHECK(comm.size() == 1);
  CHECK(comm.device_memory());
  const std::vector<float> values{1.5f, -2.0f, 3.25f};
  auto device = upload(be, values);
  comm.allreduce_sum(device.data(), values.size());
  CHECK(download(be, device).to_vector() == values);

  nn::param_layout layout;
  layout.add("w", shape_t{4});
  nn::param_arena<cuda_backend, float> grads(layout);
  const std::vector<float> g{1, 2, 3, 4};
  cuda_memory::copy_from_host(grads.flat().data, g.data(), g.size() * sizeof(float));
  training::average_gradients(be, comm, grads);
  CHECK(download(be, grads.flat()).to_vector() == g);
}
