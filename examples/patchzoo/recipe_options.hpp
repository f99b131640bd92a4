#pragma once
// The training-recipe flags shared by every subcommand that trains an image-token model (entropy train,
// dpar train): they fill one pipeline::train_recipe, so the recipe means the same everywhere.
#include <CLI/CLI.hpp>

#include "patchzoo/pipeline/model_training.hpp"

inline void add_recipe_options(CLI::App* cmd, patchzoo::pipeline::train_recipe& r, const char* dropout_help) {
  cmd->add_option("--steps", r.steps, "total training steps")->check(CLI::PositiveNumber);
  cmd->add_option("--batch", r.batch, "images per step")->check(CLI::PositiveNumber);
  cmd->add_option("--lr", r.lr, "learning rate (constant unless --cosine)")->check(CLI::PositiveNumber);
  cmd->add_option("--warmup", r.warmup, "linear warmup steps")->check(CLI::NonNegativeNumber);
  cmd->add_flag("--cosine", r.cosine, "cosine decay to 10% of --lr after the warmup");
  cmd->add_option("--dropout", r.dropout, dropout_help)->check(CLI::Range(0.0, 0.9));
  cmd->add_option("--checkpoint-every", r.checkpoint_every, "steps between checkpoints (0: only at the end)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--seed", r.seed, "seed for weights, data order and dropout");
}
