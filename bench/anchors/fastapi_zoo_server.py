#!/usr/bin/env python3
"""The Python anchor of bench/anchors/serve_load.sh: the zoo of `patchzoo zoo train` served the way a Python
user would write it, FastAPI + uvicorn + PyTorch, on the same Open Inference Protocol request as
`patchzoo serve` (JSON, and Triton's binary tensor extension). Like PSML's own code it picks uniformly among
the feasible models of the Pareto front (accuracy against p50 latency, as our router does by default).

  python3 fastapi_zoo_server.py --zoo DIR [--port 8001] [--seed 0]     # serve
  python3 fastapi_zoo_server.py --zoo DIR --check-against http://127.0.0.1:8000
      # asks that server for each front model in turn (a request only that model meets) and asserts its
      # probabilities equal these torch modules' to 1e-4: the anchor computes the same models.

Only sequential models (linear, gelu, conv2d, maxpool2d, avgpool2d, flatten) are built in torch. A model
of another kind (the ViT) is refused with an error when it is on the front; off the front it is never
chosen, so skipping it changes nothing.
"""
import argparse
import gzip
import json
import random
import struct
import sys
import urllib.request

import torch

TASK = "fashion-mnist"


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if entry["dtype"] != "F32":
            raise SystemExit(f"{path}: tensor {name} has dtype {entry['dtype']}, expected F32")
        begin, end = entry["data_offsets"]
        data = bytearray(raw[8 + n + begin:8 + n + end])
        tensors[name] = torch.frombuffer(data, dtype=torch.float32).reshape(entry["shape"]).clone()
    return tensors


def build_sequential(architecture, weights):
    layers = []
    for i, layer in enumerate(architecture["layers"]):
        kind = layer["type"]
        if kind == "linear":
            w = weights[f"layers.{i}.weight"]
            m = torch.nn.Linear(w.shape[1], w.shape[0])
        elif kind == "conv2d":
            w = weights[f"layers.{i}.weight"]
            m = torch.nn.Conv2d(w.shape[1], w.shape[0], layer["kernel"], stride=layer.get("stride", 1), padding=layer["padding"])
        elif kind == "gelu":
            m = torch.nn.GELU(approximate="tanh")  # patchzoo's GELU is the tanh form
        elif kind == "maxpool2d":
            m = torch.nn.MaxPool2d(layer["kernel"], stride=layer["stride"])
        elif kind == "avgpool2d":
            m = torch.nn.AvgPool2d(layer["kernel"], stride=layer["stride"])
        elif kind == "flatten":
            m = torch.nn.Flatten()
        else:
            raise SystemExit(f"unknown layer type {kind!r}")
        if kind in ("linear", "conv2d"):
            with torch.no_grad():
                m.weight.copy_(weights[f"layers.{i}.weight"])
                m.bias.copy_(weights[f"layers.{i}.bias"])
        layers.append(m)
    return torch.nn.Sequential(*layers).eval()


def pareto_front(models):
    def dominates(a, b):
        return (a["accuracy"] >= b["accuracy"] and a["latency_p50_ms"] <= b["latency_p50_ms"]
                and (a["accuracy"] > b["accuracy"] or a["latency_p50_ms"] < b["latency_p50_ms"]))
    return [m for m in models if not any(dominates(o, m) for o in models if o is not m)]


def load_zoo(directory):
    manifest = json.load(open(f"{directory}/zoo.json"))
    front = pareto_front(manifest["models"])
    for m in front:
        if m["architecture"]["kind"] != "sequential":
            raise SystemExit(f"model {m['id']} ({m['name']}) is on the front but is a {m['architecture']['kind']}: "
                             "the anchor builds sequential models only")
        m["module"] = build_sequential(m["architecture"], read_safetensors(f"{directory}/{m['weights']}"))
    return sorted(front, key=lambda m: m["latency_p50_ms"])


def parse_images(request, binary):
    tensor = request["inputs"][0]
    shape, datatype = tensor["shape"], tensor["datatype"]
    count = shape[0] * 784
    if "data" in tensor:
        values = torch.tensor(tensor["data"], dtype=torch.float32)
    else:
        dtype = torch.uint8 if datatype == "UINT8" else torch.float32
        values = torch.frombuffer(bytearray(binary), dtype=dtype).to(torch.float32)
    if values.numel() != count:
        raise ValueError(f"inputs[0].data: shape needs {count} values, got {values.numel()}")
    if datatype == "UINT8":
        values = values / 255.0
    return values.reshape(shape[0], 1, 28, 28)


def make_app(front, seed):
    from fastapi import FastAPI, Request, Response
    from fastapi.responses import JSONResponse

    app = FastAPI()
    rng = random.Random(seed)

    @app.get("/v2/health/ready")
    def ready():
        return {"ready": True}

    @app.post(f"/v2/models/{TASK}/infer")
    async def infer(request: Request):
        body = await request.body()
        header_length = request.headers.get("inference-header-content-length")
        n = int(header_length) if header_length else len(body)
        try:
            parsed = json.loads(body[:n])
            images = parse_images(parsed, body[n:])
        except (ValueError, KeyError, TypeError, IndexError) as e:
            return JSONResponse({"error": str(e)}, status_code=400)
        params = parsed.get("parameters", {})
        feasible = [m for m in front
                    if m["accuracy"] >= params.get("min_accuracy", 0.0)
                    and m["latency_p50_ms"] <= params.get("max_latency_ms", float("inf"))]
        if not feasible:
            return JSONResponse({"error": "infeasible"}, status_code=422)
        model = rng.choice(feasible)
        with torch.inference_mode():
            probabilities = torch.softmax(model["module"](images), dim=1)
        output = {"name": "probabilities", "shape": list(probabilities.shape), "datatype": "FP32"}
        binary_out = any(o.get("parameters", {}).get("binary_data") for o in parsed.get("outputs", []))
        if binary_out:
            raw = probabilities.contiguous().numpy().tobytes()
            output["parameters"] = {"binary_data_size": len(raw)}
            head = json.dumps({"model_name": TASK, "outputs": [output]}).encode()
            return Response(head + raw, media_type="application/octet-stream",
                            headers={"Inference-Header-Content-Length": str(len(head))})
        output["data"] = probabilities.flatten().tolist()
        return {"model_name": TASK, "outputs": [output]}

    return app


def check_against(front, url):
    with gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz") as f:
        pixels = list(f.read()[16:16 + 8 * 784])
    images = torch.tensor(pixels, dtype=torch.float32).reshape(8, 1, 28, 28) / 255.0
    worst = 0.0
    for m in front:  # on a front sorted by latency, only m meets both its own accuracy and its own latency
        body = json.dumps({"parameters": {"min_accuracy": m["accuracy"], "max_latency_ms": m["latency_p50_ms"]},
                           "inputs": [{"name": "images", "shape": [8, 784], "datatype": "UINT8", "data": pixels}]})
        req = urllib.request.Request(f"{url}/v2/models/{TASK}/infer", body.encode(), {"Content-Type": "application/json"})
        served = torch.tensor(json.loads(urllib.request.urlopen(req).read())["outputs"][0]["data"]).reshape(8, 10)
        with torch.inference_mode():
            ours = torch.softmax(m["module"](images), dim=1)
        diff = (served - ours).abs().max().item()
        print(f"check: {m['id']} ({m['name']}): max |served - torch| = {diff:.2e}")
        worst = max(worst, diff)
    if worst > 1e-4:
        sys.exit(f"check: FAILED, max difference {worst:.2e} > 1e-4")
    print(f"check: OK, {len(front)} front models, max difference {worst:.2e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--zoo", required=True)
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--check-against")
    args = parser.parse_args()
    torch.set_num_threads(1)  # as our server: requests side by side, one thread each
    front = load_zoo(args.zoo)
    if args.check_against:
        return check_against(front, args.check_against)
    import uvicorn
    uvicorn.run(make_app(front, args.seed), host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
