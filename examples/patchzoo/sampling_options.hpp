#pragma once
// The sampling flags shared by the subcommands that draw images (dpar sample, dpar evaluate, llamagen
// sample): guidance, temperature, top-k / top-p, and for DPAR the inference-time patcher changes.
#include <CLI/CLI.hpp>

#include "patchzoo/dpar/sampling_filters.hpp"
#include "patchzoo/pipeline/sample_step.hpp"

inline void add_sampling_filters(CLI::App* cmd, patchzoo::dpar::sampling_config& s) {
  cmd->add_option("--cfg,--cfg-scale", s.cfg_scale, "classifier-free guidance scale on the logits (1: off)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--temperature", s.temperature, "softmax temperature")->check(CLI::PositiveNumber);
  cmd->add_option("--top-k", s.top_k, "keep the k most likely tokens (0: off)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--top-p", s.top_p, "nucleus mass (1: off)")->check(CLI::Range(1e-9, 1.0));
}

inline void add_sampling_options(CLI::App* cmd, patchzoo::dpar::sampling_config& s,
                                 patchzoo::pipeline::patcher_overrides& p) {
  add_sampling_filters(cmd, s);
  cmd->add_option("--threshold", p.threshold, "override theta at sampling time (DPAR)");
  cmd->add_option("--max-patch", p.max_patch, "override P_max at sampling time (DPAR; 0: no cap)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--static-length", p.static_length, "override the static patch length at sampling time (DPAR)")
      ->check(CLI::Range(1.0, 1e6));
}
