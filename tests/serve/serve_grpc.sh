#!/usr/bin/env bash
# `patchzoo serve --grpc-port 0` end to end: a small trained zoo, the gRPC endpoint found from the start-up
# line, one second of ModelInfer load from patchzoo_grpc_load (every call OK), an infeasible request
# answered FAILED_PRECONDITION (code 9), and the shutdown summary counting the gRPC requests.
#   tests/serve/serve_grpc.sh PATCHZOO_BIN GRPC_LOAD_BIN
set -euo pipefail
bin="$1"
load="$2"
work="$(mktemp -d)"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill -TERM "$server_pid" 2> /dev/null && wait "$server_pid" 2> /dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "serve_grpc: FAILED: $*" >&2; cat "$work/server.err" >&2 || true; exit 1; }

OMP_NUM_THREADS=1 "$bin" zoo train --out "$work/zoo" --train-images 1000 --epochs-scale 0.1 --models m0 m1 m2 \
  --latency-runs 3 > /dev/null 2> "$work/train.err" || { cat "$work/train.err" >&2; exit 1; }
"$bin" serve --zoo "$work/zoo" --port 0 --grpc-port 0 --json > "$work/server.out" 2> "$work/server.err" &
server_pid=$!
for _ in $(seq 1 150); do
  grep -q "on http://" "$work/server.err" 2> /dev/null && break
  kill -0 "$server_pid" 2> /dev/null || fail "the server exited"
  sleep 0.1
done
port="$(sed -n 's/.*gRPC (inference.GRPCInferenceService) on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/server.err")"
[ -n "$port" ] || fail "no gRPC line on stderr"

"$load" --target "127.0.0.1:$port" --connections 4 --duration 1 > "$work/ok.json" || fail "load: $(cat "$work/ok.json")"
python3 - "$work/ok.json" <<'PY' || fail "load result"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["ok"] > 50 and r["failed"] == 0, r
PY
if "$load" --target "127.0.0.1:$port" --connections 1 --duration 0.2 --min-accuracy 0.999 > "$work/infeasible.json"; then
  fail "an infeasible request was answered OK"
fi
python3 - "$work/infeasible.json" <<'PY' || fail "infeasible answers: $(cat "$work/infeasible.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["ok"] == 0 and set(r["failed_by_code"]) == {"9"}, r  # 9: FAILED_PRECONDITION
PY

kill -TERM "$server_pid"
wait "$server_pid" || fail "serve exited non-zero after SIGTERM"
server_pid=""
python3 - "$work/server.out" "$work/ok.json" "$port" <<'PY' || fail "summary: $(cat "$work/server.out")"
import json, sys
summary, load, port = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), int(sys.argv[3])
assert summary["grpc_port"] == port and summary["requests"] >= load["ok"], (summary, load)
PY
echo "serve_grpc: OK (port $port, $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ok"])' "$work/ok.json") calls)"
