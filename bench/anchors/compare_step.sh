#!/usr/bin/env bash
# Our training step against the PyTorch anchor, and our GEMM against OpenBLAS, in one go on 2 threads.
#
#   bench/anchors/compare_step.sh [step|gemm|all]     (default: all)
#
# step: bench_train_step (BM_train_step_eigen, 5 repetitions, median real time per step) and
#       bench/anchors/torch_step.py (the same model in PyTorch, OpenMP OpenBLAS), then one table with
#       both medians and torch_ms / ours_ms (above 1 means ours is faster).
# gemm: bench_gemm, median GFLOP/s of our matmul and of cblas_sgemm per shape, and their ratio.
#
# Environment: BUILD_DIR (default build-bench), REPS (5), MIN_TIME (0.5 s per repetition),
# TORCH_REPS (10), TORCH_WARMUP (3), NO_BUILD=1 to use the executables as they are, TORCH_ARGS
# (default "--clip-grad-norm 1.0", mirroring the clip_grad_norm(.., 1.0) inside bench_train_step's step).
# A missing executable is configured and built first. The machine is shared: rerun before trusting a
# difference under about 10%.
set -euo pipefail

mode="${1:-all}"
case "$mode" in step|gemm|all) ;; *) echo "usage: $0 [step|gemm|all]" >&2; exit 2 ;; esac

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build_dir="${BUILD_DIR:-$repo/build-bench}"
reps="${REPS:-5}"
min_time="${MIN_TIME:-0.5}"
torch_python=/usr/bin/python3
openblas_openmp=/usr/lib/x86_64-linux-gnu/openblas-openmp
export OMP_NUM_THREADS=2
read -ra torch_args <<<"${TORCH_ARGS-"--clip-grad-norm 1.0"}"

work="$(mktemp -d)"
# 2-thread OpenMP code slows down many times over when another process takes a core: show the load.
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
trap 'echo "load average at end: $(cut -d" " -f1-3 /proc/loadavg)"; rm -rf "$work"' EXIT

# Builds one benchmark target unless NO_BUILD=1; returns non-zero when its source does not exist.
build_target() {
  local target="$1"
  [[ -f "$repo/bench/$target.cpp" ]] || return 1
  if [[ "${NO_BUILD:-0}" != 1 ]]; then
    if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
      cmake -S "$repo" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPATCHZOO_BUILD_BENCH=ON \
        -DPATCHZOO_BUILD_TESTS=OFF -DPATCHZOO_BUILD_EXAMPLES=OFF -DPATCHZOO_CUDA=OFF >&2
    fi
    cmake --build "$build_dir" --target "$target" >&2
  fi
  [[ -x "$build_dir/bench/$target" ]]
}

run_gbench() {
  local target="$1" out="$2"
  shift 2
  "$build_dir/bench/$target" --benchmark_format=json --benchmark_repetitions="$reps" \
    --benchmark_min_time="$min_time" --benchmark_report_aggregates_only=true "$@" >"$out"
}

if [[ "$mode" == step || "$mode" == all ]]; then
  ours_json="$work/ours_step.json"
  if build_target bench_train_step; then
    echo "running bench_train_step ($reps repetitions)..." >&2
    run_gbench bench_train_step "$ours_json" --benchmark_filter='^BM_train_step_eigen'
  else
    echo "bench_train_step is not available yet: the 'ours' row stays pending" >&2
    : >"$ours_json"
  fi
  echo "running torch_step.py (OpenMP OpenBLAS)..." >&2
  LD_LIBRARY_PATH="$openblas_openmp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$torch_python" \
    "$repo/bench/anchors/torch_step.py" --reps "${TORCH_REPS:-10}" --warmup "${TORCH_WARMUP:-3}" \
    "${torch_args[@]}" >"$work/torch_step.json"
  python3 - "$ours_json" "$work/torch_step.json" <<'PY'
import json, sys

to_ms = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}
ours_ms = None
with open(sys.argv[1]) as f:
    text = f.read()
if text.strip():
    for b in json.loads(text)["benchmarks"]:
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") == "median":
            ours_ms = b["real_time"] * to_ms[b["time_unit"]]
            break
with open(sys.argv[2]) as f:
    torch = json.loads(f.read().strip().splitlines()[-1])

print(f"{'training step (B=8, T=256, 2 threads)':40} {'median ms':>10}")
print(f"{'patchzoo eigen (BM_train_step_eigen)':40} " + (f"{ours_ms:10.1f}" if ours_ms else f"{'pending bench_train_step':>10}"))
print(f"{'PyTorch ' + torch['torch'] + ' (torch_step.py)':40} {torch['median_ms']:10.1f}   (min {torch['min_ms']:.1f}, {torch['reps']} reps, clip {torch['clip_grad_norm']}, BLAS {torch['blas']})")
if ours_ms:
    print(f"{'ratio torch_ms / ours_ms':40} {torch['median_ms'] / ours_ms:10.2f}   (> 1: ours is faster)")
PY
fi

if [[ "$mode" == gemm || "$mode" == all ]]; then
  build_target bench_gemm || { echo "bench/bench_gemm.cpp is missing" >&2; exit 1; }
  echo "running bench_gemm ($reps repetitions)..." >&2
  run_gbench bench_gemm "$work/gemm.json" --benchmark_filter='^gemm/.*/(eigen|openblas)'
  python3 - "$work/gemm.json" <<'PY'
import json, sys

medians = {}
with open(sys.argv[1]) as f:
    for b in json.load(f)["benchmarks"]:
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") == "median":
            _, shape, impl = b["run_name"].split("/")[:3]
            medians.setdefault(shape, {})[impl] = b["GFLOP/s"]

print()
print(f"{'GEMM shape (MxKxN)':32} {'eigen GFLOP/s':>14} {'OpenBLAS GFLOP/s':>17} {'eigen/OpenBLAS':>15}")
for shape, r in medians.items():
    ours, anchor = r.get("eigen"), r.get("openblas")
    ratio = f"{ours / anchor:15.2f}" + ("" if ours / anchor >= 0.85 else "  below 0.85 target") if ours and anchor else f"{'-':>15}"
    print(f"{shape:32} {ours or float('nan'):14.1f} {anchor or float('nan'):17.1f} {ratio}")
PY
fi
