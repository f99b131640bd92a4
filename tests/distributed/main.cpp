// doctest main of the data-parallel tests, run by ctest under `mpirun -np 2`: MPI is initialised before the
// first test and finalised after the last; every rank runs every test case in the same order (collectives).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "patchzoo/train/mpi_communicator.hpp"

int main(int argc, char** argv) {
  patchzoo::training::mpi_session mpi(argc, argv);
  doctest::Context context(argc, argv);
  return context.run();
}
