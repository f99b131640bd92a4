#!/usr/bin/env bash
# Our KV-cached class-conditional sampling of the LlamaGen baseline against the PyTorch anchor.
#
#   bench/anchors/compare_sample.sh
#   IMAGES="20" GRIDS="16" THREADS="1 2" bench/anchors/compare_sample.sh     # the quick case
#
# For each thread count: bench_dpar's BM_sample_baseline_sweep (images x grid, CFG 2, median images/s
# of REPS repetitions; a case slower than 1 s counts one run per repetition) with OMP_NUM_THREADS set,
# then bench/anchors/torch_sample.py (the same model and sampling in PyTorch, OpenMP OpenBLAS,
# torch.set_num_threads) for each (images, grid). Then one table: threads, images, grid, ours images/s,
# torch images/s, ours / torch (above 1 means ours is faster), and the 1-minute load average at the
# start of each side's run.
#
# Environment: BUILD_DIR (default build-bench), NO_BUILD=1 to use bench_dpar as it is, BUILD_JOBS (the
# build's -j; default ninja's), REPS (3, Google Benchmark repetitions of ours), TORCH_REPS (3 timed
# runs), TORCH_WARMUP (1), IMAGES ("1 4 20 64"), GRIDS ("16 24"), THREADS ("1 2"). Sizes outside the
# benchmark's {1, 4, 20, 64} x {16, 24} leave the 'ours' cell empty. A missing executable is configured and
# built first. The machine is shared and 2-thread OpenMP code slows down many times over when another
# process takes a core: check the load column, and rerun before trusting a difference under about 10%.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build_dir="${BUILD_DIR:-$repo/build-bench}"
reps="${REPS:-3}"
torch_reps="${TORCH_REPS:-3}"
torch_warmup="${TORCH_WARMUP:-1}"
read -ra images_list <<<"${IMAGES:-1 4 20 64}"
read -ra grids_list <<<"${GRIDS:-16 24}"
read -ra threads_list <<<"${THREADS:-1 2}"
torch_python=/usr/bin/python3
openblas_openmp=/usr/lib/x86_64-linux-gnu/openblas-openmp

load1() { cut -d' ' -f1 /proc/loadavg; }

work="$(mktemp -d)"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
trap 'echo "load average at end: $(cut -d" " -f1-3 /proc/loadavg)"; rm -rf "$work"' EXIT

if [[ "${NO_BUILD:-0}" != 1 ]]; then
  if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
    cmake -S "$repo" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPATCHZOO_BUILD_BENCH=ON \
      -DPATCHZOO_BUILD_TESTS=OFF -DPATCHZOO_BUILD_EXAMPLES=OFF -DPATCHZOO_CUDA=OFF >&2
  fi
  cmake --build "$build_dir" --target bench_dpar ${BUILD_JOBS:+-j "$BUILD_JOBS"} >&2
fi
[[ -x "$build_dir/bench/bench_dpar" ]] || { echo "$build_dir/bench/bench_dpar is missing" >&2; exit 1; }

join_by() { local IFS="$1"; shift; echo "$*"; }
filter="^BM_sample_baseline_sweep/images:($(join_by '|' "${images_list[@]}"))/grid:($(join_by '|' "${grids_list[@]}"))/"

for t in "${threads_list[@]}"; do
  echo "threads $t: bench_dpar BM_sample_baseline_sweep ($reps repetitions), load $(load1)..." >&2
  echo "$(load1)" >"$work/ours_load_$t"
  OMP_NUM_THREADS="$t" "$build_dir/bench/bench_dpar" --benchmark_format=json --benchmark_filter="$filter" \
    --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true >"$work/ours_$t.json"
  for g in "${grids_list[@]}"; do
    for n in "${images_list[@]}"; do
      echo "threads $t: torch_sample.py --images $n --grid $g, load $(load1)..." >&2
      load="$(load1)"
      LD_LIBRARY_PATH="$openblas_openmp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" OMP_NUM_THREADS="$t" "$torch_python" \
        "$repo/bench/anchors/torch_sample.py" --images "$n" --grid "$g" --threads "$t" --reps "$torch_reps" \
        --warmup "$torch_warmup" | sed "s/^{/{\"load\": $load, /" >>"$work/torch.jsonl"
    done
  done
done

python3 - "$work" "${threads_list[@]}" <<'PY'
import json, os, sys

work, threads = sys.argv[1], sys.argv[2:]
ours, ours_load = {}, {}
for t in threads:
    ours_load[t] = open(os.path.join(work, f"ours_load_{t}")).read().strip()
    with open(os.path.join(work, f"ours_{t}.json")) as f:
        for b in json.load(f)["benchmarks"]:
            # the median aggregate, or the single run when REPS=1 (no aggregates then)
            if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
                continue
            args = dict(kv.split(":") for kv in b["run_name"].split("/")[1:] if ":" in kv)
            ours[(int(t), int(args["images"]), int(args["grid"]))] = b["images/s"]
torch_rows = [json.loads(line) for line in open(os.path.join(work, "torch.jsonl")) if line.strip()]
first = torch_rows[0] if torch_rows else {}
print(f"\nbaseline sampling, CFG 2 (2 x images sequences), KV-cached; ours: bench_dpar BM_sample_baseline_sweep "
      f"(median), torch: torch_sample.py {first.get('torch', '?')} (median, BLAS {first.get('blas', '?')})")
print(f"{'threads':>7} {'images':>6} {'grid':>4} {'ours img/s':>11} {'torch img/s':>12} {'ours/torch':>10}   load ours/torch")
for r in torch_rows:
    key = (r["threads"], r["images"], r["grid"])
    o = ours.get(key)
    ratio = f"{o / r['images_per_s']:10.2f}" if o else f"{'-':>10}"
    cell = f"{o:11.2f}" if o else f"{'-':>11}"
    print(f"{r['threads']:7d} {r['images']:6d} {r['grid']:4d} {cell} {r['images_per_s']:12.2f} {ratio}   "
          f"{ours_load.get(str(r['threads']), '?')}/{r['load']}")
PY
