#!/usr/bin/env bash
# Our server against the FastAPI + PyTorch anchor under wrk, in one go: every row is one server, one body
# format and one connection count, DURATION seconds of batch-1 requests for one Fashion-MNIST test image.
#
#   ZOO=runs/zoo bench/anchors/serve_load.sh
#   DURATION=5 CONNECTIONS="8 64" bench/anchors/serve_load.sh     # quick: trains a small zoo first
#
# Servers: ours (`patchzoo serve --zoo $ZOO $EXTRA_SERVE_ARGS`) and the anchor (fastapi_zoo_server.py: the
# same zoo's front as torch modules, uniform choice among feasible models, one uvicorn process with one
# worker, httptools and uvloop when installed, torch on 1 thread), each started here, waited for on
# /v2/health/ready, and stopped after its rows (also on Ctrl-C or an error). With CHECK=1, before the
# load, fastapi_zoo_server.py --check asks our server for every model of the zoo (front models at their
# own profile point, the others from one-model zoos) and fails unless all agree with torch to 1e-4. Formats: json (784 FP32 values in the
# body), binary (Triton's extension: a JSON header, then 3136 raw bytes; the answer also binary) and grpc
# (ours only: ModelInfer with raw_input_contents, driven by build/bench/patchzoo_grpc_load, wrk's closed loop
# over gRPC; its "timeouts" are calls past the same 2 s deadline, its non-2xx the other non-OK codes).
# wrk: 1 thread at c <= 8, 2 threads above (it shares the 2 cores with the server). Each row prints
# req/s, p50, p99, non-2xx answers and wrk's timeouts (requests unanswered after 2 s), then a table.
#
# Environment: ZOO (a directory from `patchzoo zoo train`; unset: `patchzoo zoo train --train-images 2000
# --epochs-scale 0.2 --latency-runs 20` into the temp dir, 8 models, about 10 s on the 2-core machine,
# low accuracies: fine for load, not for accuracy figures), BUILD_DIR (build), DURATION (30),
# CONNECTIONS ("8 64 256"), SERVERS ("ours anchor"), FORMATS ("json binary"), PARAMETERS (the request's
# parameters as JSON, default {}: every front model feasible), EXTRA_SERVE_ARGS (to `patchzoo serve`),
# ANCHOR_ARGS (to fastapi_zoo_server.py, e.g. "--torch-threads 2" or "--http h11"), CHECK (0),
# OURS_PORT (8765), OURS_GRPC_PORT (8767), ANCHOR_PORT (8766). wrk shares the cores with the server: rerun before trusting a
# difference under 10%, and look at the load average printed before each server.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build_dir="${BUILD_DIR:-$repo/build}"
zoo="${ZOO:-}"
duration="${DURATION:-30}"
read -ra connections <<<"${CONNECTIONS:-8 64 256}"
read -ra servers <<<"${SERVERS:-ours anchor}"
read -ra formats <<<"${FORMATS:-json binary}"
parameters="${PARAMETERS:-{\}}"
read -ra extra_serve_args <<<"${EXTRA_SERVE_ARGS:-}"
read -ra anchor_args <<<"${ANCHOR_ARGS:-}"
patchzoo="$build_dir/examples/patchzoo/patchzoo"
[ -x "$patchzoo" ] || { echo "serve_load: $patchzoo is missing (build the patchzoo example)" >&2; exit 2; }
ours_port="${OURS_PORT:-8765}"
ours_grpc_port="${OURS_GRPC_PORT:-8767}"
grpc_load="$build_dir/bench/patchzoo_grpc_load"
grpc_args=()
if [[ " ${formats[*]} " == *" grpc "* ]]; then
  [ -x "$grpc_load" ] || { echo "serve_load: $grpc_load is missing (build the patchzoo_grpc_load target)" >&2; exit 2; }
  grpc_args=(--grpc-port "$ours_grpc_port")
fi
anchor_port="${ANCHOR_PORT:-8766}"
command -v wrk > /dev/null || { echo "serve_load: wrk is not installed (scripts/setup installs it)" >&2; exit 2; }

work="$(mktemp -d)"
server_pid=""
stop_server() {
  if [ -n "$server_pid" ]; then
    kill -TERM "$server_pid" 2> /dev/null || true
    wait "$server_pid" 2> /dev/null || true
    server_pid=""
  fi
}
trap 'stop_server; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

if [ -z "$zoo" ]; then
  zoo="$work/zoo"
  echo "serve_load: ZOO unset: training a small zoo into $zoo (2000 images, epochs x0.2; about 10 s)..."
  start=$SECONDS
  OMP_NUM_THREADS=1 "$patchzoo" zoo train --out "$zoo" --train-images 2000 --epochs-scale 0.2 --latency-runs 20 \
    > "$work/train.out" 2> "$work/train.err" || { cat "$work/train.err" >&2; exit 1; }
  echo "serve_load: trained in $((SECONDS - start)) s"
fi
[ -f "$zoo/zoo.json" ] || { echo "serve_load: no zoo.json in '$zoo'" >&2; exit 2; }

# The two bodies: one test image as FP32 JSON, and as the binary extension (JSON header + raw FP32).
/usr/bin/python3 - "$work" "$parameters" <<'PY'
import gzip, json, struct, sys
work, parameters = sys.argv[1], json.loads(sys.argv[2])
with gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz") as f:
    pixels = f.read()[16:16 + 784]
values = [p / 255.0 for p in pixels]
body = {"parameters": parameters, "inputs": [{"name": "images", "shape": [1, 784], "datatype": "FP32", "data": values}]}
open(f"{work}/json.body", "w").write(json.dumps(body))
header = json.dumps({"parameters": parameters,
                     "inputs": [{"name": "images", "shape": [1, 784], "datatype": "FP32", "parameters": {"binary_data_size": 3136}}],
                     "outputs": [{"name": "probabilities", "parameters": {"binary_data": True}}]}).encode()
open(f"{work}/binary.body", "wb").write(header + struct.pack("<784f", *values))
open(f"{work}/binary.length", "w").write(str(len(header)))
open(f"{work}/pixels.f32", "wb").write(struct.pack("<784f", *values))
PY

wait_ready() {
  local port="$1"
  for _ in $(seq 1 200); do
    /usr/bin/python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/v2/health/ready', timeout=1)" 2> /dev/null && return 0
    kill -0 "$server_pid" 2> /dev/null || { echo "serve_load: the server exited:" >&2; cat "$work/server.err" >&2; exit 1; }
    sleep 0.1
  done
  echo "serve_load: no answer on port $port after 20 s" >&2
  exit 1
}

echo "serve_load: commit $(git -C "$repo" rev-parse --short HEAD), zoo $zoo, $duration s per row, parameters $parameters"
rows=()
for server in "${servers[@]}"; do
  case "$server" in
    ours)
      port="$ours_port"
      "$patchzoo" serve --zoo "$zoo" --port "$port" "${grpc_args[@]}" "${extra_serve_args[@]}" > "$work/server.out" 2> "$work/server.err" &
      ;;
    anchor)
      port="$anchor_port"
      /usr/bin/python3 "$repo/bench/anchors/fastapi_zoo_server.py" --zoo "$zoo" --port "$port" "${anchor_args[@]}" \
        > "$work/server.out" 2> "$work/server.err" &
      ;;
    *) echo "serve_load: unknown server '$server' (ours, anchor)" >&2; exit 2 ;;
  esac
  server_pid=$!
  wait_ready "$port"
  echo "serve_load: $server ready on port $port: $(head -n 1 "$work/server.err")"
  echo "serve_load: load average before $server: $(cut -d' ' -f1-3 /proc/loadavg)"
  if [ "$server" = ours ] && [ "${CHECK:-0}" = 1 ]; then
    /usr/bin/python3 "$repo/bench/anchors/fastapi_zoo_server.py" --zoo "$zoo" --check "http://127.0.0.1:$port" \
      --patchzoo "$patchzoo"
  fi
  for format in "${formats[@]}"; do
    [ "$format" = grpc ] && [ "$server" != ours ] && continue  # the anchor speaks HTTP only
    header_length=""
    [ "$format" = binary ] && header_length="$(cat "$work/binary.length")"
    for c in "${connections[@]}"; do
      threads=2
      [ "$c" -le 8 ] && threads=1
      if [ "$format" = grpc ]; then
        # The JSON line of patchzoo_grpc_load; a non-zero exit only says some calls failed, as the row shows.
        line="$("$grpc_load" --target "127.0.0.1:$ours_grpc_port" --connections "$c" --threads "$threads" \
          --duration "$duration" --image-file "$work/pixels.f32" || true)"
        read -r rps p50 p99 non2xx timeouts < <(/usr/bin/python3 -c '
import json, sys
r = json.loads(sys.argv[1]); codes = r["failed_by_code"]
deadline = codes.pop("4", 0)  # DEADLINE_EXCEEDED
print(round(r["requests_per_s"]), "%.2fms" % r["p50_ms"], "%.2fms" % r["p99_ms"], sum(codes.values()), deadline)' "$line")
        row="| $server | $format | $c | $threads | $rps | $p50 | $p99 | $non2xx | $timeouts |"
        echo "$row"
        rows+=("$row")
        continue
      fi
      out="$work/wrk.txt"
      BODY="$work/$format.body" HEADER_LENGTH="$header_length" \
        wrk -t"$threads" -c"$c" -d"${duration}s" --latency -s "$repo/bench/anchors/serve_post.lua" \
        "http://127.0.0.1:$port/v2/models/fashion-mnist/infer" > "$out"
      rps="$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$out")"
      p50="$(awk '$1 == "50%" {print $2}' "$out")"
      p99="$(awk '$1 == "99%" {print $2}' "$out")"
      non2xx="$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")"
      timeouts="$(sed -n 's/.*timeout \([0-9]*\).*/\1/p' "$out")"
      row="| $server | $format | $c | $threads | $rps | $p50 | $p99 | ${non2xx:-0} | ${timeouts:-0} |"
      echo "$row"
      rows+=("$row")
    done
  done
  stop_server
done

echo
echo "| server | format | connections | client threads | req/s | p50 | p99 | non-2xx | timeouts |"
echo "|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
