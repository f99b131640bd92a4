#pragma once
// Host-side bookkeeping of the codebook: code-usage histograms (usage fraction, perplexity), the step
// each code was last used, EMA statistics (mode ema) and the restart of dead codes from current latents.
// The state is small ([K] and [K, D]) and lives on the host whatever the backend.
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "patchzoo/core/rng.hpp"
#include "patchzoo/io/safetensors.hpp"
#include "patchzoo/train/communicator.hpp"
#include "patchzoo/vq/vq_config.hpp"

namespace patchzoo::vq {

// Counts of each code over some set of tokens.
struct code_histogram {
  std::vector<std::int64_t> counts;
  std::int64_t total = 0;

  explicit code_histogram(std::int64_t codebook_size = 0) : counts(static_cast<std::size_t>(codebook_size), 0) {}
  void add(const std::int32_t* codes, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) ++counts[static_cast<std::size_t>(codes[i])];
    total += n;
  }
  // Fraction of the codebook used at least once.
  double usage() const {
    std::int64_t used = 0;
    for (const auto c : counts) used += c > 0;
    return counts.empty() ? 0.0 : static_cast<double>(used) / static_cast<double>(counts.size());
  }
  // exp(entropy of the code distribution): the effective number of codes in use.
  double perplexity() const {
    double h = 0.0;
    for (const auto c : counts)
      if (c > 0) {
        const double p = static_cast<double>(c) / static_cast<double>(total);
        h -= p * std::log(p);
      }
    return std::exp(h);
  }
};

class codebook_state {
 public:
  codebook_state() = default;
  codebook_state(const vq_config& cfg, const tensor<double>& initial_codebook)
      : cfg_(cfg), last_used_(shape_t{cfg.codebook_size}), ema_size_(shape_t{cfg.codebook_size}),
        ema_sum_(initial_codebook.clone()), batch_(cfg.codebook_size) {
    for (std::int64_t k = 0; k < cfg.codebook_size; ++k) ema_size_[k] = 1.0;
  }

  // Records one training step's codes and normalised latents zn [N, D].
  void observe(const tensor<std::int32_t>& codes, const tensor<double>& zn, std::int64_t step) {
    const std::int64_t k_total = cfg_.codebook_size, d = cfg_.code_dim, n = codes.numel();
    batch_ = code_histogram(k_total);
    batch_.add(codes.data(), n);
    for (std::int64_t k = 0; k < k_total; ++k)
      if (batch_.counts[k] > 0) last_used_[k] = static_cast<std::int32_t>(step);
    if (cfg_.mode != quantizer_mode::ema) return;
    const double decay = cfg_.ema_decay;
    std::vector<double> sums(static_cast<std::size_t>(k_total * d), 0.0);
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < d; ++j) sums[codes[i] * d + j] += zn[i * d + j];
    for (std::int64_t k = 0; k < k_total; ++k) {
      ema_size_[k] = decay * ema_size_[k] + (1 - decay) * static_cast<double>(batch_.counts[k]);
      for (std::int64_t j = 0; j < d; ++j)
        ema_sum_[k * d + j] = decay * ema_sum_[k * d + j] + (1 - decay) * sums[k * d + j];
    }
  }

  // The EMA codebook: running sums over Laplace-smoothed running counts (the forward pass normalises it).
  tensor<double> ema_codebook() const {
    const std::int64_t k_total = cfg_.codebook_size, d = cfg_.code_dim;
    double n = 0.0;
    for (std::int64_t k = 0; k < k_total; ++k) n += ema_size_[k];
    constexpr double eps = 1e-5;
    tensor<double> out(shape_t{k_total, d});
    for (std::int64_t k = 0; k < k_total; ++k) {
      const double size = (ema_size_[k] + eps) / (n + static_cast<double>(k_total) * eps) * n;
      for (std::int64_t j = 0; j < d; ++j) out[k * d + j] = ema_sum_[k * d + j] / size;
    }
    return out;
  }

  // Codes unused for dead_code_steps steps take the value of a random current latent row (seeded by
  // step and code), and count as used now. Returns how many were restarted.
  std::int64_t restart_dead(tensor<double>& codebook, const tensor<double>& zn, std::int64_t step, std::uint64_t seed) {
    if (cfg_.dead_code_steps == 0) return 0;
    const std::int64_t d = cfg_.code_dim, rows = zn.numel() / d;
    std::int64_t restarted = 0;
    for (std::int64_t k = 0; k < cfg_.codebook_size; ++k) {
      if (step - last_used_[k] < cfg_.dead_code_steps) continue;
      const std::uint64_t pick = rng_stream(seed ^ 0x5eedc0de, static_cast<std::uint64_t>(step) * 65536 + k)
                                     .below(static_cast<std::uint64_t>(rows));
      for (std::int64_t j = 0; j < d; ++j) {
        codebook[k * d + j] = zn[static_cast<std::int64_t>(pick) * d + j];
        ema_sum_[k * d + j] = codebook[k * d + j];
      }
      ema_size_[k] = 1.0;
      last_used_[k] = static_cast<std::int32_t>(step);
      ++restarted;
    }
    return restarted;
  }

  const code_histogram& last_batch() const { return batch_; }

  // Rank 0's state on every rank of a data-parallel run (it starts from each rank's own initial codebook).
  void broadcast(training::communicator& comm) {
    comm.broadcast(last_used_.data(), last_used_.bytes());
    comm.broadcast(ema_size_.data(), ema_size_.bytes());
    comm.broadcast(ema_sum_.data(), ema_sum_.bytes());
  }

  // Checkpointing: the tensors go into the training checkpoint file, so that they commit with it.
  void add_to(safetensors_writer& w) const {
    w.add("codebook_state/last_used", last_used_.cview());
    w.add("codebook_state/ema_size", ema_size_.cview());
    w.add("codebook_state/ema_sum", ema_sum_.cview());
  }
  // The state stored in `r` as a new object: every tensor is checked against this state's dtypes and
  // shapes first (errors name the file and the tensor), and this state is left as it was.
  codebook_state loaded_from(const safetensors_reader& r) const {
    codebook_state s;
    s.cfg_ = cfg_;
    s.last_used_ = tensor<std::int32_t>(last_used_.shape());
    s.ema_size_ = tensor<double>(ema_size_.shape());
    s.ema_sum_ = tensor<double>(ema_sum_.shape());
    s.batch_ = batch_;
    std::map<std::string, safetensors_target> targets;
    targets.emplace("codebook_state/last_used", s.last_used_.view());
    targets.emplace("codebook_state/ema_size", s.ema_size_.view());
    targets.emplace("codebook_state/ema_sum", s.ema_sum_.view());
    r.load_all_into(targets);
    return s;
  }

 private:
  vq_config cfg_;
  tensor<std::int32_t> last_used_;
  tensor<double> ema_size_, ema_sum_;
  code_histogram batch_;
};

}  // namespace patchzoo::vq
