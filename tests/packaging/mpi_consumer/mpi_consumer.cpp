// Started without mpirun, MPI runs this process as a job of one rank: the communicator sums in place.
#include <cstdio>

#include <patchzoo/train/mpi_communicator.hpp>

int main(int argc, char** argv) {
  patchzoo::training::mpi_session mpi(argc, argv);
  patchzoo::training::mpi_communicator world;
  double value = 2.5;
  world.allreduce_sum(&value, 1);
  if (world.size() != 1 || value != 2.5) return 1;
  std::printf("mpi ok: %d rank\n", world.size());
  return 0;
}
