#pragma once
// The CIFAR-10 Pareto front of the later public PSML code as selection sees it, accuracy as a
// fraction and latency in ms, in latency order; vgg19_bn (index 3) is test_defense.cpp's victim.
#include <vector>

#include "patchzoo/psml/service_request.hpp"

namespace patchzoo::test {

inline std::vector<psml::candidate> cifar10_front() {
  const double points[7][2] = {{93.22, 11.07}, {93.72, 12.83}, {93.92, 15.14}, {94.30, 18.17},
                               {98.02, 35.86}, {98.32, 36.27}, {98.38, 67.79}};
  std::vector<psml::candidate> front;
  for (std::size_t i = 0; i < 7; ++i) front.push_back({i, points[i][0] / 100.0, points[i][1], false, 0});
  return front;
}

inline constexpr std::size_t cifar10_victim = 3;  // vgg19_bn

// The victim's exact profile point: the fingerprinting trigger, whose feasible set is the victim alone.
inline psml::service_request cifar10_trigger() { return {94.30 / 100.0, 18.17}; }

}  // namespace patchzoo::test
