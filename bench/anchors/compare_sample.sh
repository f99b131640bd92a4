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
# start of each side's run. ROUNDS > 1 repeats all of that, ours and torch taking turns, and reports each
# side's median over the rounds, their ratio and the range of the rounds' own ratios: on a shared VM whose
# speed drifts by tens of percent within minutes, turns taken side by side are what make a ratio hold.
#
#   ROUNDS=7 REPS=1 TORCH_REPS=1 IMAGES="20" GRIDS="16" bench/anchors/compare_sample.sh   # the 3x target
#
# Environment: BUILD_DIR (default build-bench), NO_BUILD=1 to use bench_dpar as it is, BUILD_JOBS (the
# build's -j; default ninja's), REPS (3, Google Benchmark repetitions of ours), TORCH_REPS (3 timed
# runs), TORCH_WARMUP (1), ROUNDS (1), IMAGES ("1 4 20 64"), GRIDS ("16 24"), THREADS ("1 2"). Sizes outside the
# benchmark's {1, 4, 20, 64} x {16, 24} leave the 'ours' cell empty. A missing executable is configured and
# built first. The machine is shared and 2-thread OpenMP code slows down many times over when another
# process takes a core: check the load column, and rerun before trusting a difference under about 10%.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build_dir="${BUILD_DIR:-$repo/build-bench}"
reps="${REPS:-3}"
torch_reps="${TORCH_REPS:-3}"
torch_warmup="${TORCH_WARMUP:-1}"
rounds="${ROUNDS:-1}"
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

for ((r = 1; r <= rounds; r++)); do
  for t in "${threads_list[@]}"; do
    echo "round $r, threads $t: bench_dpar BM_sample_baseline_sweep ($reps repetitions), load $(load1)..." >&2
    echo "$(load1)" >"$work/ours_load_${t}_$r"
    OMP_NUM_THREADS="$t" "$build_dir/bench/bench_dpar" --benchmark_format=json --benchmark_filter="$filter" \
      --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true >"$work/ours_${t}_$r.json"
    for g in "${grids_list[@]}"; do
      for n in "${images_list[@]}"; do
        echo "round $r, threads $t: torch_sample.py --images $n --grid $g, load $(load1)..." >&2
        load="$(load1)"
        LD_LIBRARY_PATH="$openblas_openmp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" OMP_NUM_THREADS="$t" "$torch_python" \
          "$repo/bench/anchors/torch_sample.py" --images "$n" --grid "$g" --threads "$t" --reps "$torch_reps" \
          --warmup "$torch_warmup" | sed "s/^{/{\"round\": $r, \"load\": $load, /" >>"$work/torch.jsonl"
      done
    done
  done
done

python3 - "$work" "$rounds" "${threads_list[@]}" <<'PY'
import json, os, statistics, sys

work, rounds, threads = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
ours, ours_load = {}, {}  # (threads, images, grid) -> {round: images/s}; (threads, round) -> load
for t in threads:
    for r in range(1, rounds + 1):
        ours_load[(int(t), r)] = open(os.path.join(work, f"ours_load_{t}_{r}")).read().strip()
        with open(os.path.join(work, f"ours_{t}_{r}.json")) as f:
            for b in json.load(f)["benchmarks"]:
                # the median aggregate, or the single run when REPS=1 (no aggregates then)
                if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
                    continue
                args = dict(kv.split(":") for kv in b["run_name"].split("/")[1:] if ":" in kv)
                ours.setdefault((int(t), int(args["images"]), int(args["grid"])), {})[r] = b["images/s"]
torch, torch_load = {}, {}  # the same keys -> {round: images/s}; -> loads
rows = [json.loads(line) for line in open(os.path.join(work, "torch.jsonl")) if line.strip()]
for row in rows:
    key = (row["threads"], row["images"], row["grid"])
    torch.setdefault(key, {})[row["round"]] = row["images_per_s"]
    torch_load.setdefault(key, []).append(str(row["load"]))
first = rows[0] if rows else {}
print(f"\nbaseline sampling, CFG 2 (2 x images sequences), KV-cached; ours: bench_dpar BM_sample_baseline_sweep "
      f"(median), torch: torch_sample.py {first.get('torch', '?')} (median, BLAS {first.get('blas', '?')})")
if rounds > 1:
    print(f"{rounds} rounds, ours and torch taking turns: images/s are medians over the rounds, 'rounds' is the "
          f"range of the rounds' own ratios")
print(f"{'threads':>7} {'images':>6} {'grid':>4} {'ours img/s':>11} {'torch img/s':>12} {'ours/torch':>10} "
      f"{'rounds':>11}   load ours/torch")
for key in sorted(torch):
    t, n, g = key
    theirs, mine = torch[key], ours.get(key, {})
    tv = statistics.median(theirs.values())
    ov = statistics.median(mine.values()) if mine else None
    ratios = [mine[r] / theirs[r] for r in theirs if r in mine]
    cell = f"{ov:11.2f}" if ov else f"{'-':>11}"
    ratio = f"{ov / tv:10.2f}" if ov else f"{'-':>10}"
    spread = f"{min(ratios):.2f}-{max(ratios):.2f}" if len(ratios) > 1 else ""
    loads = ",".join(ours_load[(t, r)] for r in range(1, rounds + 1))
    print(f"{t:7d} {n:6d} {g:4d} {cell} {tv:12.2f} {ratio} {spread:>11}   {loads}/{','.join(torch_load[key])}")
PY
