// Data-parallel training on this machine (docs/distributed.md). Run it alone (1 process) and under
// `mpirun -np 2` (2 ranks); bench/anchors/compare_data_parallel.sh runs both and prints the ratios.
//   BM_allreduce/<floats>   the gradient allreduce of a whole grads arena: the demo's DPAR model and DPAR-B's
//                           (needs 2+ ranks); algorithmic bandwidth = arena bytes / time
//   BM_dpar_step            one training step of the demo's DPAR model (d 128, 2 heads, E1/G2/D1, vocab 512,
//                           16x16 tokens, static patches of mean length 1.81) at a global batch of 32 images,
//                           shared by the ranks; images/s of the whole job
// Every rank runs the same fixed number of iterations (collectives must match); times are the slowest
// rank's, and only rank 0 reports.
#include <benchmark/benchmark.h>
#include <mpi.h>

#include <chrono>
#include <vector>

#include "bench_support.hpp"
#include "patchzoo/backend/eigen/eigen_backend.hpp"
#include "patchzoo/data/markov_tokens.hpp"
#include "patchzoo/dpar/trainer.hpp"
#include "patchzoo/train/mpi_communicator.hpp"

namespace {

using namespace patchzoo;

training::communicator* job = &training::single_process();

// The slowest rank's seconds: a collective step is as slow as its last rank.
double slowest(double seconds) {
  if (job->size() > 1) MPI_Allreduce(MPI_IN_PLACE, &seconds, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return seconds;
}

dpar::dpar_config demo_dpar() {
  dpar::dpar_config c;
  c.vocab = 512;
  c.classes = 10;
  c.tokens = 256;
  c.row_width = 16;
  c.encoder_layers = 1;
  c.global_layers = 2;
  c.decoder_layers = 1;
  c.block = {.dim = 128, .heads = 2, .ffn_hidden = dpar::round_up_256_ffn(128), .norm_eps = 1e-5f};
  return c;
}

std::int64_t arena_floats(const dpar::dpar_config& c) {
  const dpar::ar_shape s{c.block.dim, c.block.heads, c.block.ffn_hidden, c.vocab, c.classes + 1, c.tokens};
  return dpar::dpar_parameters(s, {static_cast<int>(c.encoder_layers), static_cast<int>(c.global_layers),
                                   static_cast<int>(c.decoder_layers)});
}

void BM_allreduce(benchmark::State& state) {
  if (job->size() < 2) {
    state.SkipWithError("an allreduce needs 2 or more ranks: run under mpirun -np 2");
    return;
  }
  std::vector<float> grads(static_cast<std::size_t>(state.range(0)), 1.0f);
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    job->allreduce_sum(grads.data(), grads.size());
    state.SetIterationTime(slowest(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()));
  }
  state.SetBytesProcessed(state.iterations() * state.range(0) * static_cast<std::int64_t>(sizeof(float)));
  state.counters["ranks"] = job->size();
  state.counters["MB"] = static_cast<double>(state.range(0)) * sizeof(float) / 1e6;
}

void BM_dpar_step(benchmark::State& state) {
  constexpr std::int64_t global_batch = 32;
  eigen_backend be;
  const auto cfg = demo_dpar();
  dpar::dpar_model<eigen_backend, float> model(cfg, 1);
  const data::markov_tokens source(cfg.vocab, 4, 2);
  rng_stream r(3);
  const auto grids = source.batch(256, cfg.tokens, r);
  data::token_file tokens{16, 16, cfg.vocab, {}, {}};
  for (std::int64_t i = 0; i < grids.inputs.numel(); ++i) tokens.tokens.push_back(static_cast<std::uint16_t>(grids.inputs[i]));
  for (std::int64_t i = 0; i < 256; ++i) tokens.labels.push_back(static_cast<std::uint16_t>(i % cfg.classes));
  dpar::patcher_config patcher{.mode = dpar::patching_mode::static_length, .row_width = 16};
  const std::int64_t steps = state.max_iterations + 2;
  dpar::trainer<eigen_backend, dpar::dpar_model<eigen_backend, float>> trainer(
      model, tokens, {.steps = steps, .batch = global_batch, .lr = 1e-3, .out_dir = {}, .comm = job}, nullptr, patcher);
  trainer.run(be, {}, 2);  // warm: scratch buffers allocated, ranks joined
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    trainer.run(be, {}, trainer.step() + 1);
    state.SetIterationTime(slowest(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()));
  }
  state.counters["images/s"] = benchmark::Counter(global_batch, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["ranks"] = job->size();
  state.counters["threads/rank"] = omp_get_max_threads();
  state.counters["arena_MB"] = static_cast<double>(model.layout().total()) * sizeof(float) / 1e6;
}

// A reporter for ranks other than 0: they run the benchmarks (collectives) but print nothing.
class silent_reporter : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>&) override {}
};

}  // namespace

int main(int argc, char** argv) {
  std::unique_ptr<training::mpi_session> session;
  std::unique_ptr<training::mpi_communicator> world;
  if (training::started_as_rank()) {
    session = std::make_unique<training::mpi_session>(argc, argv);
    world = std::make_unique<training::mpi_communicator>();
    job = world.get();
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  bench::add_run_context();
  benchmark::AddCustomContext("ranks", std::to_string(job->size()));
  for (const auto& [name, cfg] : {std::pair{"demo_dpar", demo_dpar()}, std::pair{"dpar_b", dpar::dpar_config{}}})
    benchmark::RegisterBenchmark((std::string("BM_allreduce/") + name).c_str(), BM_allreduce)
        ->Arg(arena_floats(cfg))
        ->Iterations(std::string(name) == "dpar_b" ? 5 : 50)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_dpar_step", BM_dpar_step)->Iterations(10)->UseManualTime()->Unit(benchmark::kMillisecond);
  silent_reporter silent;
  if (job->is_root()) benchmark::RunSpecifiedBenchmarks();
  else benchmark::RunSpecifiedBenchmarks(&silent);
  benchmark::Shutdown();
  return 0;
}
