// The program both consumer projects build: one Eigen-backend op, checked, exit 0 on success; it prints the
// version of patchzoo/version.hpp, which the driver compares with the project's.
#include <cstdio>
#include <vector>

#include <patchzoo/backend/eigen/eigen_backend.hpp>
#include <patchzoo/version.hpp>

int main() {
  patchzoo::eigen_backend be;
  patchzoo::tensor<float> a(patchzoo::shape_t{2, 2}, {1, 2, 3, 4});
  patchzoo::tensor<float> b(patchzoo::shape_t{2, 2}, {5, 6, 7, 8});
  patchzoo::tensor<float> c(patchzoo::shape_t{2, 2});
  matmul(be, c.view(), a.cview(), b.cview(), false, false);
  const std::vector<float> expected{19, 22, 43, 50};
  if (c.to_vector() != expected) {
    std::fprintf(stderr, "consumer: matmul gave %g %g %g %g\n", c[0], c[1], c[2], c[3]);
    return 1;
  }
  std::printf("consumer: patchzoo %s matmul ok\n", PATCHZOO_VERSION_STRING);
  return 0;
}
