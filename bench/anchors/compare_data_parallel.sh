#!/usr/bin/env bash
# Data-parallel training on this machine: the demo's DPAR training step at a global batch of 32 in 1 process
# x 2 OpenMP threads against 2 MPI ranks x 1 thread, and the gradient allreduce of the demo's and DPAR-B's
# arenas, in one go (bench/distributed/bench_data_parallel.cpp). Prints images/s of both layouts, their ratio,
# and the share of the 2-rank step spent in the allreduce (BM_allreduce/demo_dpar time / BM_dpar_step time).
#
#   bench/anchors/compare_data_parallel.sh
#
# Environment: BUILD_DIR (default build), REPS (3 repetitions of each, medians). Run on a quiet machine:
# the load average is printed at the start and the end.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bench="${BUILD_DIR:-$repo/build}/bench/bench_data_parallel"
[ -x "$bench" ] || { echo "no $bench: run scripts/build bench_data_parallel (needs Open MPI: scripts/setup)" >&2; exit 1; }
reps="${REPS:-3}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work="$(mktemp -d)"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
trap 'echo "load average at end: $(cut -d" " -f1-3 /proc/loadavg)"; rm -rf "$work"' EXIT

common=(--benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true --benchmark_format=json)
OMP_NUM_THREADS=2 "$bench" --benchmark_filter=BM_dpar_step "${common[@]}" > "$work/one.json"
OMP_NUM_THREADS=1 mpirun --oversubscribe -np 2 "$bench" "${common[@]}" > "$work/two.json"

/usr/bin/python3 - "$work/one.json" "$work/two.json" <<'PY'
import json, sys
def medians(path):  # by name without Google Benchmark's "/iterations:N/manual_time" suffixes
    rows = json.load(open(path))["benchmarks"]
    return {r["run_name"].split("/iterations:")[0]: r for r in rows if r.get("aggregate_name") == "median"}
one, two = medians(sys.argv[1]), medians(sys.argv[2])
s1, s2 = one["BM_dpar_step"], two["BM_dpar_step"]
print(f"{'layout':<28}{'step ms':>10}{'images/s':>10}")
print(f"{'1 process x 2 threads':<28}{s1['real_time']:>10.1f}{s1['images/s']:>10.1f}")
print(f"{'2 ranks x 1 thread':<28}{s2['real_time']:>10.1f}{s2['images/s']:>10.1f}")
print(f"2 ranks / 1 process: {s2['images/s'] / s1['images/s']:.2f}x images/s")
for name, r in sorted(two.items()):
    if name.startswith("BM_allreduce"):
        print(f"{name:<28}{r['MB']:>8.1f} MB {r['real_time']:>9.2f} ms {r['bytes_per_second'] / 1e9:>7.2f} GB/s")
ar = next(r for k, r in two.items() if k.startswith("BM_allreduce/demo_dpar"))
print(f"allreduce share of the 2-rank step: {100 * ar['real_time'] / s2['real_time']:.1f} %")
PY
