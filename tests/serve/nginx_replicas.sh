#!/usr/bin/env bash
# Two `patchzoo serve` replicas behind nginx (deploy/local-replicas): the protocol checks pass through the
# proxy (health, metadata, JSON and binary infer, a 400 naming its field, a 422), and both replicas answer.
#   tests/serve/nginx_replicas.sh PATCHZOO_BIN
set -euo pipefail
bin="$1"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$(mktemp -d)"
lr_pid=""
cleanup() {
  [ -n "$lr_pid" ] && kill -TERM "$lr_pid" 2> /dev/null && wait "$lr_pid" 2> /dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

OMP_NUM_THREADS=1 "$bin" zoo train --out "$work/zoo" --train-images 1000 --epochs-scale 0.1 --models m0 m1 m2 \
  --latency-runs 3 > /dev/null 2> "$work/train.err" || { cat "$work/train.err" >&2; exit 1; }
"$repo/deploy/local-replicas" --zoo "$work/zoo" --replicas 2 --port 0 --bin "$bin" -- --max-queue-delay-ms 0 \
  > "$work/lr.out" 2> "$work/lr.err" &
lr_pid=$!
for _ in $(seq 1 150); do
  grep -q "ready on" "$work/lr.out" 2> /dev/null && break
  kill -0 "$lr_pid" 2> /dev/null || { cat "$work/lr.err" >&2; exit 1; }
  sleep 0.1
done
grep -q "ready on" "$work/lr.out" || { echo "nginx_replicas: not ready after 15 s" >&2; cat "$work/lr.err" >&2; exit 1; }
line="$(cat "$work/lr.out")"
proxy="$(echo "$line" | grep -o 'http://127.0.0.1:[0-9]*' | head -1 | cut -d: -f3)"
replica_ports="$(echo "$line" | sed 's/.*ports \([0-9 ]*\)).*/\1/')"

python3 - "$proxy" $replica_ports <<'PY'
import gzip, http.client, json, struct, sys
proxy, replicas = int(sys.argv[1]), [int(p) for p in sys.argv[2:]]
with gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz") as f:
    pixels = f.read()[16:16 + 784]
conn = http.client.HTTPConnection("127.0.0.1", proxy, timeout=10)
def call(method, path, body=None, headers=None):
    conn.request(method, path, body, headers or {})
    r = conn.getresponse()
    return r.status, dict(r.getheaders()), r.read()
def check(condition, what):
    if not condition:
        sys.exit("nginx_replicas: FAILED: " + what)
infer = "/v2/models/fashion-mnist/infer"
check(call("GET", "/v2/health/ready")[0] == 200, "ready through nginx")
status, _, body = call("GET", "/v2/models/fashion-mnist")
check(status == 200 and json.loads(body)["name"] == "fashion-mnist", "metadata through nginx")
request = json.dumps({"inputs": [{"name": "images", "shape": [1, 784], "datatype": "UINT8", "data": list(pixels)}]})
for _ in range(40):  # enough that both replicas take some (least_conn over keep-alive connections)
    status, _, body = call("POST", infer, request, {"Content-Type": "application/json"})
    check(status == 200, f"JSON infer through nginx answered {status}: {body[:200]}")
    probs = json.loads(body)["outputs"][0]["data"]
    check(len(probs) == 10 and abs(sum(probs) - 1) < 1e-4, "10 probabilities summing to 1")
header = json.dumps({"inputs": [{"name": "images", "shape": [1, 784], "datatype": "UINT8", "parameters": {"binary_data_size": 784}}],
                     "outputs": [{"name": "probabilities", "parameters": {"binary_data": True}}]}).encode()
status, headers, body = call("POST", infer, header + pixels, {"Inference-Header-Content-Length": str(len(header))})
check(status == 200, f"binary infer through nginx answered {status}: {body[:200]}")
n = int(headers.get("Inference-Header-Content-Length", "-1"))
check(n > 0 and len(body) == n + 40, "binary response header passes through nginx")
check(abs(sum(struct.unpack("<10f", body[n:])) - 1) < 1e-4, "binary probabilities sum to 1")
status, _, body = call("POST", infer, header + pixels[:-1], {"Inference-Header-Content-Length": str(len(header))})
check(status == 400 and json.loads(body)["field"] == "inputs[0].parameters.binary_data_size", "truncated binary body: 400 naming the field")
status, _, body = call("POST", infer, json.dumps({"parameters": {"min_accuracy": 0.999}, "inputs": json.loads(request)["inputs"]}))
check(status == 422, f"infeasible through nginx answered {status}")
check(call("GET", "/v2/health/live")[0] == 200, "still live after the bad requests")
for port in replicas:  # each replica answered part of the infer requests
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", "/metrics")
    metrics = c.getresponse().read().decode()
    served = [float(l.split()[1]) for l in metrics.splitlines() if l.startswith("patchzoo_requests_total ")]
    check(served and served[0] > 0, f"replica on port {port} answered no request")
print(f"nginx_replicas: OK (proxy {proxy}, replicas {replicas})")
PY
