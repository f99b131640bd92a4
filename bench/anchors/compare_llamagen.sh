#!/usr/bin/env bash
# LlamaGen at the paper's size, ours against PyTorch with the same architecture and random weights:
# GPT-B KV-cached class-conditional sampling (CFG 4, 16 x 16 tokens) and VQ-16 decoding / encoding of 256 px
# images.
#
#   bench/anchors/compare_llamagen.sh
#   THREADS="2" IMAGES="1" bench/anchors/compare_llamagen.sh
#
# For each thread count: bench_paper_scale's BM_sample_gpt_b/images:N/grid:16 and BM_vq16_decode / BM_vq16_encode
# with OMP_NUM_THREADS set, then bench/anchors/torch_sample.py --config GPT-B and bench/anchors/torch_vq16.py
# (OpenMP OpenBLAS, torch.set_num_threads). One table: threads, case, ours images/s, torch images/s,
# ours / torch (above 1: ours is faster), the 1-minute load at the start of each side.
#
# Environment: BUILD_DIR (default build), NO_BUILD=1 to use bench_paper_scale as it is, THREADS ("1 2"),
# IMAGES (GPT-B images per run, "1"), TORCH_REPS (1 timed run of the GPT-B sampler, 2 of VQ-16).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build_dir="${BUILD_DIR:-$repo/build}"
read -ra threads_list <<<"${THREADS:-1 2}"
read -ra images_list <<<"${IMAGES:-1}"
torch_python=/usr/bin/python3
openblas_openmp=/usr/lib/x86_64-linux-gnu/openblas-openmp
load1() { cut -d' ' -f1 /proc/loadavg; }

work="$(mktemp -d)"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
trap 'echo "load average at end: $(cut -d" " -f1-3 /proc/loadavg)"; rm -rf "$work"' EXIT

if [[ "${NO_BUILD:-0}" != 1 ]]; then
  cmake --build "$build_dir" --target bench_paper_scale >&2
fi
bench="$build_dir/bench/bench_paper_scale"
[[ -x "$bench" ]] || { echo "$bench is missing" >&2; exit 1; }

images_alt="$(IFS='|'; echo "${images_list[*]}")"
for t in "${threads_list[@]}"; do
  echo "threads $t: bench_paper_scale, load $(load1)..." >&2
  echo "$(load1)" >"$work/ours_load_$t"
  OMP_NUM_THREADS="$t" "$bench" --benchmark_format=json \
    --benchmark_filter="^BM_sample_gpt_b/images:($images_alt)/grid:16/|^BM_vq16_(decode|encode)/" >"$work/ours_$t.json"
  torch_env=(env LD_LIBRARY_PATH="$openblas_openmp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" OMP_NUM_THREADS="$t")
  for n in "${images_list[@]}"; do
    echo "threads $t: torch_sample.py --config GPT-B --images $n, load $(load1)..." >&2
    load="$(load1)"
    "${torch_env[@]}" "$torch_python" "$repo/bench/anchors/torch_sample.py" --config GPT-B --images "$n" --threads "$t" \
      --reps "${TORCH_REPS:-1}" --warmup 0 | sed "s/^{/{\"load\": $load, /" >>"$work/torch_gpt_$t.jsonl"
  done
  echo "threads $t: torch_vq16.py, load $(load1)..." >&2
  load="$(load1)"
  "${torch_env[@]}" "$torch_python" "$repo/bench/anchors/torch_vq16.py" --images 1 --threads "$t" \
    --reps "${TORCH_REPS:-2}" | sed "s/^{/{\"load\": $load, /" >"$work/torch_vq_$t.json"
done

python3 - "$work" "${threads_list[@]}" <<'PY'
import json, os, sys

work, threads = sys.argv[1], sys.argv[2:]
print(f"\n{'threads':>7}  {'case':<28} {'ours img/s':>10} {'torch img/s':>11} {'ours/torch':>10}   load ours/torch")
for t in threads:
    ours_load = open(os.path.join(work, f"ours_load_{t}")).read().strip()
    ours = {}
    with open(os.path.join(work, f"ours_{t}.json")) as f:
        for b in json.load(f)["benchmarks"]:
            ours[b["run_name"].split("/iterations")[0]] = b["images/s"]
    rows = []
    for line in open(os.path.join(work, f"torch_gpt_{t}.jsonl")):
        r = json.loads(line)
        rows.append((f"GPT-B sample, {r['images']} image(s)", ours.get(f"BM_sample_gpt_b/images:{r['images']}/grid:16"),
                     r["images_per_s"], r["load"]))
    vq = json.load(open(os.path.join(work, f"torch_vq_{t}.json")))
    rows.append(("VQ-16 decode, 256 px", ours.get("BM_vq16_decode/images:1"), vq["decode_images_per_s"], vq["load"]))
    rows.append(("VQ-16 encode, 256 px", ours.get("BM_vq16_encode/images:1"), vq["encode_images_per_s"], vq["load"]))
    for name, o, theirs, load in rows:
        cell = f"{o:10.3f}" if o else f"{'-':>10}"
        ratio = f"{o / theirs:10.2f}" if o else f"{'-':>10}"
        print(f"{t:>7}  {name:<28} {cell} {theirs:11.3f} {ratio}   {ours_load}/{load}")
PY
