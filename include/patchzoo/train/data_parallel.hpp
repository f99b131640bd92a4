#pragma once
// What every trainer does with a communicator (train/communicator.hpp) to train data-parallel: each rank
// takes its equal shard of the global batch (the same global order as one process), gradients are averaged
// over ranks in one call on the whole arena, parameters start as rank 0's, and before the first step all
// ranks prove they run the same configuration. With single_process() every helper is a no-op.
//   const auto [begin, end] = local_rows(comm, global_batch);       // this rank's rows
//   start_together(be, comm, "trainer", settings, model.params());  // same settings, rank 0's parameters
//   average_gradients(be, comm, model.grads());                     // after backward, before clipping
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "patchzoo/backend/transfer.hpp"
#include "patchzoo/nn/param_arena.hpp"
#include "patchzoo/train/communicator.hpp"

namespace patchzoo::training {

// Refuses a global batch that the ranks cannot share equally (equal shards keep the mean of the ranks'
// mean losses the global mean loss, so the averaged gradient is the one-process gradient).
inline void check_divisible_batch(const communicator& comm, std::int64_t global_batch, const char* where) {
  check(global_batch % comm.size() == 0, where, "batch ", global_batch, " does not split into ", comm.size(),
        " equal shards (one per rank): choose a batch that is a multiple of the number of ranks");
}

// This rank's rows [first, second) of a global batch of `global_batch` rows.
inline std::pair<std::int64_t, std::int64_t> local_rows(const communicator& comm, std::int64_t global_batch) {
  const std::int64_t local = global_batch / comm.size();
  return {comm.rank() * local, (comm.rank() + 1) * local};
}

// This rank's rows of a global batch: a host tensor [rows, ...] or a vector with one entry per row.
template <class T>
tensor<T> local_shard(const communicator& comm, tensor<T> global) {
  if (comm.size() == 1) return global;
  const auto [first, end] = local_rows(comm, global.dim(0));
  const std::int64_t per_row = global.numel() / global.dim(0);
  shape_t shape = global.shape();
  shape.dims[0] = end - first;
  tensor<T> out(shape);
  std::copy(global.data() + first * per_row, global.data() + end * per_row, out.data());
  return out;
}
template <class T>
std::vector<T> local_shard(const communicator& comm, const std::vector<T>& global) {
  const auto [first, end] = local_rows(comm, static_cast<std::int64_t>(global.size()));
  return {global.begin() + first, global.begin() + end};
}

// Sum over ranks, then divide by their number: the gradient of the global mean loss.
template <backend B, real T>
void average_gradients(B& be, communicator& comm, nn::param_arena<B, T>& grads) {
  if (comm.size() == 1) return;
  auto flat = grads.flat();
  const auto count = static_cast<std::size_t>(flat.numel());
  if (B::memory::is_host || (comm.device_memory() && std::is_same_v<T, float>)) {
    be.synchronize();
    comm.allreduce_sum(flat.data, count);
  } else {  // a host transport under a device backend: through host memory
    auto host = download(be, grads.flat());
    comm.allreduce_sum(host.data(), count);
    B::memory::copy_from_host(flat.data, host.data(), host.bytes());
  }
  scale(be, flat, static_cast<T>(1.0 / comm.size()));
}

// Mean over ranks of a few host numbers (losses, counters), in place.
inline void average_over_ranks(communicator& comm, std::vector<double>& values) {
  if (comm.size() == 1) return;
  comm.allreduce_sum(values.data(), values.size());
  for (auto& v : values) v /= comm.size();
}

// Rank 0's parameters on every rank.
template <backend B, real T>
void broadcast_parameters(B& be, communicator& comm, nn::param_arena<B, T>& params) {
  if (comm.size() == 1) return;
  auto host = download(be, std::as_const(params).flat());
  comm.broadcast(host.data(), host.bytes());
  B::memory::copy_from_host(params.flat().data, host.data(), host.bytes());
}

// The rows of every rank in rank order, which is the global batch order: each rank's `local` bytes joined.
inline std::string gather_in_rank_order(communicator& comm, const void* local, std::size_t bytes) {
  const std::string mine(static_cast<const char*>(local), bytes);
  if (comm.size() == 1) return mine;
  std::string all;
  for (const auto& part : comm.allgather(mine)) {
    check(part.size() == bytes, "gather_in_rank_order", "a rank sent ", part.size(), " bytes where ", bytes,
          " were expected (ranks hold shards of different sizes)");
    all += part;
  }
  return all;
}

// A host tensor [rows, ...] of every rank concatenated along the first axis in rank order.
template <class T>
tensor<T> gather_rows(communicator& comm, tensor<T> local) {
  if (comm.size() == 1) return local;
  const std::string all = gather_in_rank_order(comm, local.data(), local.bytes());
  shape_t shape = local.shape();
  shape.dims[0] *= comm.size();
  tensor<T> out(shape);
  std::memcpy(out.data(), all.data(), all.size());
  return out;
}

// 64-bit FNV-1a of bytes: the fingerprint of data sets and parameters that ranks compare.
inline std::uint64_t fnv1a(const void* data, std::size_t bytes, std::uint64_t h = 1469598103934665603ull) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < bytes; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

// Every rank must train the same model on the same data from the same step: each sends its settings and the
// first key whose value differs from rank 0's ends the job on every rank with the same message.
inline void check_same_configuration(communicator& comm, const char* where, const std::map<std::string, std::string>& settings) {
  if (comm.size() == 1) return;
  using settings_map = std::map<std::string, std::string>;
  const auto all = comm.allgather(nlohmann::json(settings).dump());
  const auto reference = nlohmann::json::parse(all[0]).get<settings_map>();
  for (int r = 1; r < comm.size(); ++r) {
    const auto other = nlohmann::json::parse(all[static_cast<std::size_t>(r)]).get<settings_map>();
    for (const auto& [key, value] : reference) {
      const auto it = other.find(key);
      const std::string theirs = it == other.end() ? "(none)" : it->second;
      check(theirs == value, where, "ranks disagree on '", key, "': rank 0 has ", value, ", rank ", r, " has ", theirs,
            " (every rank must start the same command on the same data)");
    }
    for (const auto& [key, value] : other)
      check(reference.contains(key), where, "ranks disagree on '", key, "': rank 0 has none, rank ", r, " has ", value);
  }
}

// Before the first step: the ranks agree on `settings` (check_same_configuration) and take rank 0's parameters.
template <backend B, real T>
void start_together(B& be, communicator& comm, const char* where, const std::map<std::string, std::string>& settings,
                    nn::param_arena<B, T>& params) {
  check_same_configuration(comm, where, settings);
  broadcast_parameters(be, comm, params);
}

// The checksum of this rank's parameters; with several ranks, an error unless every rank holds the same bits.
template <backend B, real T>
std::uint64_t check_identical_parameters(B& be, communicator& comm, const nn::param_arena<B, T>& params,
                                         const char* where) {
  const auto host = download(be, params.flat());
  const std::uint64_t mine = fnv1a(host.data(), host.bytes());
  const auto all = comm.allgather(std::to_string(mine));
  for (int r = 1; r < comm.size(); ++r)
    check(all[static_cast<std::size_t>(r)] == all[0], where, "parameters differ between ranks: checksum ", all[0],
          " on rank 0, ", all[static_cast<std::size_t>(r)], " on rank ", r);
  return mine;
}

}  // namespace patchzoo::training
