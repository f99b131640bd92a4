#!/usr/bin/env python3
"""The Python anchor for `patchzoo serve`: the same model-less Fashion-MNIST server in FastAPI + PyTorch.

    /usr/bin/python3 bench/anchors/fastapi_zoo_server.py --zoo DIR [--port 8001] [--seed 0] [--torch-threads 1]
    /usr/bin/python3 bench/anchors/fastapi_zoo_server.py --zoo DIR --check http://127.0.0.1:8000 \
        [--anchor-url http://127.0.0.1:8001] [--patchzoo BINARY]

Written the way a Python user would write it: one uvicorn process (uvloop and httptools when installed,
as `pip install uvicorn[standard]` gives), one `async def` endpoint that parses the body with `json`,
builds a tensor and runs the chosen torch.nn module under `torch.inference_mode()` in the event loop.
The models are torch.nn modules built from the architecture specs in the zoo's zoo.json and loaded from
its safetensors files (parsed here: 8-byte little-endian header length, JSON header, raw data).

Selection is PSML's, as in include/patchzoo/psml/: the Pareto front by (accuracy, p50 latency) with
standard dominance (pareto.hpp), the feasible set F = front models with accuracy >= min_accuracy and
latency <= max_latency_ms, both inclusive, an absent bound no bound (service_request.hpp), and a
uniform choice in F (random.choice, not our Philox stream); an empty F is 422.

Protocol: POST /v2/models/fashion-mnist/infer with the JSON body of docs/serving.md (one input "images",
shape [B, 784] or [B, 1, 28, 28], FP32 in [0, 1] or UINT8 0..255), answered with one output
"probabilities" [B, 10] FP32. Also the binary tensor extension (Triton's): with the request header
Inference-Header-Content-Length: N the first N bytes of the body are the JSON header, whose input has
"parameters": {"binary_data_size": S} and no "data", and the next S bytes are the raw little-endian
tensor; an output asked for with "parameters": {"binary_data": true} comes back as raw float32 after
the JSON header, whose length is in the response's Inference-Header-Content-Length. GET
/v2/health/live, /v2/health/ready, /v2/models/fashion-mnist and /v2/models/fashion-mnist/ready answer
as ours do. Errors are {"error": "..."} with 400 (malformed), 404 (other task), 422 (infeasible).

--check URL: sends the same test images to our server at URL and to the anchor (the running one at
--anchor-url, else this process's own handler) once per front model with that model's own profile
point as the request (min_accuracy = its accuracy, max_latency_ms = its latency), where F is that
model alone, in JSON and in binary form, and asserts that the probabilities agree to 1e-4; with
--patchzoo BINARY it also serves every model off the front from a one-model copy of the zoo (weights
symlinked) with `BINARY serve --port 0`, so every model of the zoo is compared. Prints the max
difference per model and overall; exits 1 when any exceeds the tolerance.
"""
import argparse
import gzip
import json
import math
import os
import random
import re
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import torch
import torch.nn.functional as F

TASK = "fashion-mnist"
SIDE = 28
PIXELS = SIDE * SIDE
CLASSES = 10
MAX_IMAGES = 1024
DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
          "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8}


# ----------------------------------------------------------------------------------------------------
# Zoo: safetensors by hand, modules from the architecture specs.

def read_safetensors(path):
    """{name: tensor} and the metadata of a safetensors file."""
    with open(path, "rb") as f:
        blob = f.read()
    (header_len,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + header_len])
    data = memoryview(blob)[8 + header_len:]
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        flat = torch.frombuffer(bytearray(data[begin:end]), dtype=DTYPES[entry["dtype"]])
        tensors[name] = flat.reshape(entry["shape"]).clone()
    return tensors, metadata


class Sequential(torch.nn.Module):
    """layers.hpp: linear, gelu (tanh approximation), conv2d (NCHW, cross-correlation, stride 1), max
    and average pools (no padding), flatten (row-major C, H, W). Parameters layers.<i>.weight/bias."""

    def __init__(self, spec):
        super().__init__()
        self.layers = spec["layers"]
        self.params = torch.nn.ParameterDict()

    def forward(self, x):  # x [B, 1, 28, 28]
        for i, layer in enumerate(self.layers):
            kind = layer["type"]
            if kind == "linear":
                x = F.linear(x, self.params[f"{i}_weight"], self.params[f"{i}_bias"])
            elif kind == "gelu":
                x = F.gelu(x, approximate="tanh")
            elif kind == "flatten":
                x = x.flatten(1)
            elif kind == "conv2d":
                x = F.conv2d(x, self.params[f"{i}_weight"], self.params[f"{i}_bias"],
                             stride=layer.get("stride", 1), padding=layer["padding"])
            elif kind == "maxpool2d":
                x = F.max_pool2d(x, layer["kernel"], layer["stride"])
            elif kind == "avgpool2d":
                x = F.avg_pool2d(x, layer["kernel"], layer["stride"])
            else:
                raise ValueError(f"unknown layer type {kind!r}")
        return x

    def load(self, tensors):
        for name, t in tensors.items():
            m = re.fullmatch(r"layers\.(\d+)\.(weight|bias)", name)
            if not m:
                raise ValueError(f"unexpected tensor {name!r} in a sequential model")
            self.params[f"{m.group(1)}_{m.group(2)}"] = torch.nn.Parameter(t, requires_grad=False)


def rms_norm(x, weight, eps=1e-5):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


class ViT(torch.nn.Module):
    """vit.hpp: p x p patches in row-major grid order -> linear embedding -> LLaMA blocks (pre-norm
    RMSNorm eps 1e-5, fused qkv without bias, 2-D RoPE on interleaved pairs, full attention within the
    image, SwiGLU FFN) -> mean over tokens -> RMSNorm -> linear head."""

    def __init__(self, spec):
        super().__init__()
        self.patch, self.dim, self.heads, self.depth = spec["patch"], spec["dim"], spec["heads"], spec["layers"]
        self.side = SIDE // self.patch
        self.head_dim = self.dim // self.heads
        # rope_table.hpp rope_table_2d: pair k turns with the row for k < pairs/2, else with the column,
        # by base^(-(k mod half) / half); computed in double, stored as float.
        pairs, half = self.head_dim // 2, self.head_dim // 4
        t = torch.arange(self.side * self.side, dtype=torch.float64)
        rows, cols = torch.div(t, self.side, rounding_mode="floor"), t % self.side
        k = torch.arange(pairs, dtype=torch.float64)
        pos = torch.where(k < half, rows[:, None], cols[:, None])
        angle = pos * torch.pow(torch.tensor(10000.0, dtype=torch.float64), -(k % half) / half)
        self.register_buffer("cos", torch.cos(angle).float())  # [tokens, pairs]
        self.register_buffer("sin", torch.sin(angle).float())
        self.params = torch.nn.ParameterDict()

    def load(self, tensors):
        for name, t in tensors.items():
            self.params[name.replace(".", "_")] = torch.nn.Parameter(t, requires_grad=False)

    def rope(self, x):  # x [B, T, H, D]: (x0, x1) of pair i -> (x0 c - x1 s, x0 s + x1 c)
        x0, x1 = x[..., 0::2], x[..., 1::2]
        c, s = self.cos[None, :, None, :], self.sin[None, :, None, :]
        return torch.stack((x0 * c - x1 * s, x0 * s + x1 * c), dim=-1).flatten(-2)

    def forward(self, images):  # [B, 1, 28, 28]
        p, g = self.params, self.side
        b = images.shape[0]
        patches = images.reshape(b, g, self.patch, g, self.patch).permute(0, 1, 3, 2, 4)
        x = F.linear(patches.reshape(b, g * g, self.patch * self.patch), p["patch_embed_weight"], p["patch_embed_bias"])
        for l in range(self.depth):
            pre = f"blocks_{l}_"
            qkv = F.linear(rms_norm(x, p[pre + "attn_norm_weight"]), p[pre + "attn_wqkv"])
            q, k, v = (t.reshape(b, g * g, self.heads, self.head_dim) for t in qkv.split(self.dim, dim=-1))
            q, k = self.rope(q), self.rope(k)
            att = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)) \
                if hasattr(F, "scaled_dot_product_attention") else \
                torch.softmax(q.transpose(1, 2) @ k.permute(0, 2, 3, 1) / math.sqrt(self.head_dim), -1) @ v.transpose(1, 2)
            h = x + F.linear(att.transpose(1, 2).reshape(b, g * g, self.dim), p[pre + "attn_wo"])
            n = rms_norm(h, p[pre + "ffn_norm_weight"])
            x = h + F.linear(F.silu(F.linear(n, p[pre + "ffn_w1"])) * F.linear(n, p[pre + "ffn_w3"]), p[pre + "ffn_w2"])
        pooled = rms_norm(x.mean(1), p["final_norm_weight"])
        return F.linear(pooled, p["head_weight"], p["head_bias"])


def build_model(architecture, tensors):
    kind = architecture["kind"]
    model = Sequential(architecture) if kind == "sequential" else ViT(architecture) if kind == "vit" else None
    if model is None:
        raise ValueError(f"unknown architecture kind {kind!r}")
    model.load({n: t.float() for n, t in tensors.items()})
    return model.eval()


def load_zoo(zoo_dir):
    with open(os.path.join(zoo_dir, "zoo.json")) as f:
        manifest = json.load(f)
    models = []
    for m in manifest["models"]:
        tensors, _ = read_safetensors(os.path.join(zoo_dir, m["weights"]))
        models.append(dict(m, module=build_model(m["architecture"], tensors)))
    return models


# ----------------------------------------------------------------------------------------------------
# Selection: pareto.hpp and service_request.hpp.

def pareto_front(models, metric="latency_p50_ms"):
    """Indices of undominated models, by latency, then accuracy, then index."""
    def dominates(a, b):
        return (a["accuracy"] >= b["accuracy"] and a[metric] <= b[metric]
                and (a["accuracy"] > b["accuracy"] or a[metric] < b[metric]))
    front = [i for i, m in enumerate(models) if not any(j != i and dominates(o, m) for j, o in enumerate(models))]
    return sorted(front, key=lambda i: (models[i][metric], models[i]["accuracy"], i))


def feasible(models, front, min_accuracy, max_latency_ms, metric="latency_p50_ms"):
    return [i for i in front if (min_accuracy is None or models[i]["accuracy"] >= min_accuracy)
            and (max_latency_ms is None or models[i][metric] <= max_latency_ms)]


# ----------------------------------------------------------------------------------------------------
# Protocol.

class BadRequest(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def parse_request(body, header_length):
    """(json header, images [B,1,28,28] float32, binary output wanted, min_accuracy, max_latency_ms)."""
    if header_length is not None:
        try:
            n = int(header_length)
        except ValueError:
            raise BadRequest(400, "Inference-Header-Content-Length: expected an integer")
        if not 0 < n <= len(body):
            raise BadRequest(400, f"Inference-Header-Content-Length: {n} is outside the body of {len(body)} bytes")
        head, binary = body[:n], body[n:]
    else:
        head, binary = body, b""
    try:
        doc = json.loads(head)
    except ValueError:
        raise BadRequest(400, "body: not valid JSON")
    if not isinstance(doc, dict):
        raise BadRequest(400, "body: expected a JSON object")
    params = doc.get("parameters", {})
    if not isinstance(params, dict):
        raise BadRequest(400, "parameters: expected an object")
    min_accuracy = max_latency_ms = None
    for key, value in params.items():
        if key == "min_accuracy" and isinstance(value, (int, float)) and 0 <= value <= 1:
            min_accuracy = float(value)
        elif key == "max_latency_ms" and isinstance(value, (int, float)) and math.isfinite(value) and value > 0:
            max_latency_ms = float(value)
        else:
            raise BadRequest(400, f"parameters.{key}: unknown parameter or bad value")
    inputs = doc.get("inputs")
    if not isinstance(inputs, list) or len(inputs) != 1 or not isinstance(inputs[0], dict):
        raise BadRequest(400, "inputs: expected an array with exactly one tensor, \"images\"")
    tensor = inputs[0]
    if tensor.get("name") != "images":
        raise BadRequest(400, "inputs[0].name: expected \"images\"")
    shape = tensor.get("shape")
    if not (isinstance(shape, list) and all(isinstance(d, int) for d in shape)
            and (shape[1:] == [1, SIDE, SIDE] or shape[1:] == [PIXELS]) and 1 <= shape[0] <= MAX_IMAGES):
        raise BadRequest(400, "inputs[0].shape: expected [B, 1, 28, 28] or [B, 784] with 1 <= B <= 1024")
    batch, datatype = shape[0], tensor.get("datatype")
    if datatype not in ("FP32", "UINT8"):
        raise BadRequest(400, "inputs[0].datatype: expected \"FP32\" or \"UINT8\"")
    count = batch * PIXELS
    size = (tensor.get("parameters") or {}).get("binary_data_size")
    if size is not None:
        width = 4 if datatype == "FP32" else 1
        if size != count * width or len(binary) < size:
            raise BadRequest(400, f"inputs[0].parameters.binary_data_size: shape needs {count * width} bytes, "
                                  f"got {size} declared, {len(binary)} present")
        x = torch.frombuffer(bytearray(binary[:size]), dtype=torch.float32 if datatype == "FP32" else torch.uint8)
    else:
        data = tensor.get("data")
        if not isinstance(data, list) or len(data) != count:
            raise BadRequest(400, f"inputs[0].data: shape needs {count} values")
        try:
            x = torch.tensor(data, dtype=torch.float32 if datatype == "FP32" else torch.uint8)
        except (TypeError, ValueError, RuntimeError, OverflowError):
            raise BadRequest(400, "inputs[0].data: expected numbers")
    if datatype == "UINT8":
        x = x.float() / 255.0
    elif not bool(((x >= 0) & (x <= 1)).all()):
        raise BadRequest(400, "inputs[0].data: FP32 values must be in [0, 1]")
    binary_out = False
    for o in doc.get("outputs") or []:
        if not isinstance(o, dict) or o.get("name") != "probabilities":
            raise BadRequest(400, "outputs: this server returns \"probabilities\"")
        binary_out = binary_out or bool((o.get("parameters") or {}).get("binary_data", False))
    return doc, x.reshape(batch, 1, SIDE, SIDE), binary_out, min_accuracy, max_latency_ms


class Anchor:
    def __init__(self, zoo_dir, seed=None):
        self.models = load_zoo(zoo_dir)
        self.front = pareto_front(self.models)
        self.rng = random.Random(seed)

    def infer(self, body, header_length):
        """(status, headers, body bytes) for one infer request."""
        try:
            doc, images, binary_out, min_accuracy, max_latency_ms = parse_request(body, header_length)
        except BadRequest as e:
            return e.status, {"Content-Type": "application/json"}, json.dumps({"error": str(e)}).encode()
        choices = feasible(self.models, self.front, min_accuracy, max_latency_ms)
        if not choices:
            return 422, {"Content-Type": "application/json"}, json.dumps(
                {"error": f"infeasible: no model for task '{TASK}' meets the request"}).encode()
        model = self.models[self.rng.choice(choices)]["module"]
        with torch.inference_mode():
            probabilities = torch.softmax(model(images), dim=-1)
        output = {"name": "probabilities", "shape": list(probabilities.shape), "datatype": "FP32"}
        response = {"model_name": TASK}
        if isinstance(doc.get("id"), str):
            response["id"] = doc["id"]
        response["outputs"] = [output]
        if not binary_out:
            output["data"] = probabilities.flatten().tolist()
            return 200, {"Content-Type": "application/json"}, json.dumps(response, separators=(",", ":")).encode()
        raw = probabilities.contiguous().numpy().astype("<f4").tobytes()
        output["parameters"] = {"binary_data_size": len(raw)}
        head = json.dumps(response, separators=(",", ":")).encode()
        return 200, {"Content-Type": "application/octet-stream", "Inference-Header-Content-Length": str(len(head))}, head + raw


def make_app(anchor):
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse, Response

    app = FastAPI()
    metadata = {"name": TASK, "versions": [], "platform": "fastapi-torch-model-less",
                "inputs": [{"name": "images", "datatype": "FP32", "shape": [-1, 1, SIDE, SIDE]}],
                "outputs": [{"name": "probabilities", "datatype": "FP32", "shape": [-1, CLASSES]}],
                "parameters": {"min_accuracy": "optional number in [0, 1]: lowest acceptable top-1 accuracy",
                               "max_latency_ms": "optional number > 0: highest acceptable profiled latency per image, ms"}}

    @app.get("/v2/health/live")
    async def live():
        return {"live": True}

    @app.get("/v2/health/ready")
    async def ready():
        return {"ready": True}

    @app.get("/v2/models/{task}")
    async def model_metadata(task: str):
        return metadata if task == TASK else JSONResponse({"error": f"unknown model '{task}'"}, 404)

    @app.get("/v2/models/{task}/ready")
    async def model_ready(task: str):
        return {"name": TASK, "ready": True} if task == TASK else JSONResponse({"error": f"unknown model '{task}'"}, 404)

    @app.post("/v2/models/{task}/infer")
    async def infer(task: str, request: Request):
        if task != TASK:
            return JSONResponse({"error": f"unknown model '{task}'"}, 404)
        body = await request.body()
        status, headers, content = anchor.infer(body, request.headers.get("inference-header-content-length"))
        return Response(content=content, status_code=status, headers=headers)

    return app


# ----------------------------------------------------------------------------------------------------
# --check: our server against the anchor, model by model.

def test_images(count):
    with gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz") as f:
        raw = f.read()[16:16 + count * PIXELS]
    return torch.tensor(list(raw), dtype=torch.float32).reshape(count, PIXELS) / 255.0


def request_bodies(images, params):
    """(json body, binary body, binary header length) for FP32 images [B, 784]."""
    tensor = {"name": "images", "shape": list(images.shape), "datatype": "FP32"}
    doc = {"parameters": params, "inputs": [dict(tensor, data=images.flatten().tolist())]}
    raw = images.contiguous().numpy().astype("<f4").tobytes()
    head = json.dumps({"parameters": params,
                       "inputs": [dict(tensor, parameters={"binary_data_size": len(raw)})],
                       "outputs": [{"name": "probabilities", "parameters": {"binary_data": True}}]}).encode()
    return json.dumps(doc).encode(), head + raw, len(head)


def post(url, body, header_length=None):
    """(status, probabilities list or error text)."""
    headers = {"Content-Type": "application/json" if header_length is None else "application/octet-stream"}
    if header_length is not None:
        headers["Inference-Header-Content-Length"] = str(header_length)
    req = urllib.request.Request(url.rstrip("/") + f"/v2/models/{TASK}/infer", data=body, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return decode(r.status, dict(r.headers), r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def decode(status, headers, content):
    if status != 200:
        return status, content.decode(errors="replace")
    length = {k.lower(): v for k, v in headers.items()}.get("inference-header-content-length")
    if length is None:
        return status, json.loads(content)["outputs"][0]["data"]
    n = int(length)
    out = json.loads(content[:n])["outputs"][0]
    size = out["parameters"]["binary_data_size"]
    return status, list(struct.unpack(f"<{size // 4}f", content[n:n + size]))


def serve_one_model(binary, zoo_dir, model, work):
    """Starts `binary serve` on a copy of the zoo holding only `model`; returns (process, url)."""
    one = os.path.join(work, model["id"])
    os.makedirs(one)
    with open(os.path.join(zoo_dir, "zoo.json")) as f:
        manifest = json.load(f)
    manifest["models"] = [m for m in manifest["models"] if m["id"] == model["id"]]
    with open(os.path.join(one, "zoo.json"), "w") as f:
        json.dump(manifest, f)
    os.symlink(os.path.abspath(os.path.join(zoo_dir, model["weights"])), os.path.join(one, model["weights"]))
    log = open(os.path.join(one, "serve.err"), "w+")
    proc = subprocess.Popen([binary, "serve", "--zoo", one, "--port", "0"], stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        log.seek(0)
        m = re.search(r"http://([0-9.]+):(\d+)", log.read())
        if m:
            return proc, f"http://{m.group(1)}:{m.group(2)}"
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    log.seek(0)
    raise RuntimeError(f"{binary} serve on {one} did not start: {log.read()}")


def run_check(args):
    anchor = Anchor(args.zoo, seed=0)
    models, front = anchor.models, anchor.front
    images = test_images(args.images)

    def anchor_post(body, header_length=None):
        if args.anchor_url:
            return post(args.anchor_url, body, header_length)
        status, headers, content = anchor.infer(body, None if header_length is None else str(header_length))
        return decode(status, headers, content)

    cases = [(i, args.url) for i in front]
    procs, work = [], tempfile.mkdtemp(prefix="pz_check_")
    try:
        if args.patchzoo:
            for i, m in enumerate(models):
                if i not in front:
                    proc, url = serve_one_model(args.patchzoo, args.zoo, m, work)
                    procs.append(proc)
                    cases.append((i, url))
        worst, failures = 0.0, 0
        print(f"{'model':6} {'name':24} {'kind':10} {'on front':8} {'served by':26} {'json max |diff|':>16} {'binary max |diff|':>18}")
        for i, url in cases:
            m = models[i]
            # Its own profile point: on the front F is this model alone (exact duplicates aside); a one-model
            # zoo serves its model at any feasible request.
            params = {"min_accuracy": m["accuracy"], "max_latency_ms": m["latency_p50_ms"]}
            if i in front and feasible(models, front, params["min_accuracy"], params["max_latency_ms"]) != [i]:
                print(f"{m['id']}: an exact duplicate shares its profile point; skipped")
                continue
            expected = None
            if i not in front:  # the anchor serves only its front: compute this model directly
                with torch.inference_mode():
                    expected = torch.softmax(m["module"](images.reshape(-1, 1, SIDE, SIDE)), -1).flatten().tolist()
            cells = []
            for form in ("json", "binary"):
                json_body, binary_body, header_length = request_bodies(images, params)
                body, hl = (json_body, None) if form == "json" else (binary_body, header_length)
                s_ours, ours = post(url, body, hl)
                if expected is not None:
                    s_anchor, theirs = 200, expected
                else:
                    s_anchor, theirs = anchor_post(body, hl)
                if s_ours != 200 or s_anchor != 200:
                    cells.append(f"HTTP {s_ours}/{s_anchor}")
                    if form == "json" or not args.allow_binary_errors:
                        failures += 1
                    if s_ours != 200:
                        print(f"  {m['id']} {form}: ours answered {s_ours}: {str(ours)[:200]}", file=sys.stderr)
                    if s_anchor != 200:
                        print(f"  {m['id']} {form}: the anchor answered {s_anchor}: {str(theirs)[:200]}", file=sys.stderr)
                    continue
                diff = max(abs(a - b) for a, b in zip(ours, theirs)) if len(ours) == len(theirs) else math.inf
                worst = max(worst, diff)
                failures += diff > args.tolerance
                cells.append(f"{diff:.3g}")
            where = "this front" if i in front else "one-model zoo"
            print(f"{m['id']:6} {m['name'][:24]:24} {m['architecture']['kind']:10} {str(i in front):8} "
                  f"{where:26} {cells[0]:>16} {cells[1]:>18}")
        skipped = [models[i]["id"] for i in range(len(models)) if i not in [c[0] for c in cases]]
        if skipped:
            print(f"not compared (off the front; pass --patchzoo BINARY to serve them alone): {', '.join(skipped)}")
        print(f"max |difference| over {len(cases)} models x {args.images} images: {worst:.3g} "
              f"(tolerance {args.tolerance:g}); {'OK' if failures == 0 else f'{failures} FAILED'}")
        return 0 if failures == 0 else 1
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=10)
        subprocess.run(["rm", "-rf", work], check=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--zoo", required=True, help="zoo directory (zoo.json and safetensors weights)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8001)
    ap.add_argument("--torch-threads", type=int, default=1,
                    help="torch.set_num_threads (default 1: batch-1 models this small only lose by intra-op threads)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the uniform choice (random.Random)")
    ap.add_argument("--http", choices=["auto", "h11", "httptools"], default="auto", help="uvicorn's HTTP parser")
    ap.add_argument("--loop", choices=["auto", "asyncio", "uvloop"], default="auto", help="uvicorn's event loop")
    ap.add_argument("--check", "--check-against", dest="url", metavar="URL",
                    help="compare with our server at URL instead of serving")
    ap.add_argument("--anchor-url", help="--check: a running anchor (default: this process's handler)")
    ap.add_argument("--patchzoo", metavar="BINARY", help="--check: also compare the models off the front")
    ap.add_argument("--images", type=int, default=8, help="--check: test images per request")
    ap.add_argument("--tolerance", type=float, default=1e-4)
    ap.add_argument("--allow-binary-errors", action="store_true",
                    help="--check: a non-200 answer to a binary request is reported, not a failure")
    args = ap.parse_args()
    torch.set_num_threads(args.torch_threads)
    if args.url:
        sys.exit(run_check(args))
    import importlib.util
    import uvicorn
    anchor = Anchor(args.zoo, seed=args.seed)
    # What uvicorn's "auto" picks: httptools and uvloop when importable (uvicorn[standard]), else h11, asyncio.
    http = args.http if args.http != "auto" else "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = args.loop if args.loop != "auto" else "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    print(f"fastapi_zoo_server: task '{TASK}' on http://{args.host}:{args.port}, {len(anchor.models)} models, "
          f"front {[anchor.models[i]['id'] for i in anchor.front]}, torch {torch.__version__} "
          f"({args.torch_threads} threads), uvicorn {uvicorn.__version__} (1 worker, http {http}, loop {loop})",
          file=sys.stderr, flush=True)
    uvicorn.run(make_app(anchor), host=args.host, port=args.port, workers=1, http=http, loop=loop,
                log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
