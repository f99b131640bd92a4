#pragma once
// The --backend option of the training subcommands and the step from its value to a backend type:
// with_cpu_backend(name, [&]<class B>() { run_train<B>(options); }).
#include <string>

#include <CLI/CLI.hpp>

#include "patchzoo/backend/eigen/eigen_backend.hpp"
#include "patchzoo/backend/xtensor/xtensor_backend.hpp"

inline void add_backend_option(CLI::App* cmd, std::string& backend) {
  cmd->add_option("--backend", backend, "eigen (fast) or xtensor (reference)")
      ->check(CLI::IsMember({"eigen", "xtensor"}));
}

template <class Fn>
void with_cpu_backend(const std::string& name, Fn&& fn) {
  if (name == "xtensor") fn.template operator()<patchzoo::xtensor_backend>();
  else fn.template operator()<patchzoo::eigen_backend>();
}
