#!/usr/bin/python3
"""PyTorch anchor: KV-cached class-conditional sampling of patchzoo's LlamaGen baseline, timed.

Run it with Debian's python3-torch 1.13 and the OpenMP build of OpenBLAS, as torch_step.py:

    LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp OMP_NUM_THREADS=1 \\
        /usr/bin/python3 bench/anchors/torch_sample.py --images 20 --grid 16 --threads 1 [--reps 5] [--warmup 1]
    ... /usr/bin/python3 bench/anchors/torch_sample.py --check    # cached decode == full forward, then exit

The model is the one bench/bench_dpar.cpp's BM_sample_baseline and BM_sample_baseline_sweep sample
(baseline_config(grid), include/patchzoo/dpar/llamagen_model.hpp): a class-conditional LlamaGen GPT with
vocab 512, 10 classes (the class table has 11 rows, the last is the CFG null class), T = grid^2 tokens,
4 pre-norm LLaMA blocks of width 128, 2 heads of 64, fused Wqkv [384, 128], SwiGLU hidden 512
(round_up_256_ffn(128)), RMSNorm eps 1e-5 with a learned weight, no biases, final RMSNorm and an untied
head. The sequence is [class ; x_0 .. x_{T-2}] -> logits for x_0 .. x_{T-1} (T slots). RoPE is LlamaGen's
2-D RoPE on interleaved pairs: slot j >= 1 holds x_{j-1} at cell (r, c) = ((j-1) div grid, (j-1) mod grid);
pairs 0..15 turn with r and pairs 16..31 with c, at 10000^(-k/16), k = 0..15; the class slot's row is all
zero (cos = sin = 0: q and k are zeroed there, a LlamaGen quirk patchzoo keeps). Weights are random
(N(0, 0.02) matrices and embeddings, norm weights 1, the head not zeroed): only speed is compared.

Sampling is LlamaGen's generate.py without torch.compile: CFG by doubling the batch (the images' classes,
then as many null-class rows), a preallocated KV cache [2N, heads, T, head_dim] per layer, a prefill of
the class slots, then T-1 decode steps of one new position per sequence; attention of the new query over
the cache prefix [0, pos] (F.scaled_dot_product_attention when torch has it, torch 1.13 does not: then
matmul + softmax). Each step: logits = l_u + 2 (l_c - l_u), temperature 1, no top-k / top-p, a
torch.multinomial draw; the drawn token feeds both halves. Classes are i mod 10, as in the benchmark.
One run = allocate the caches and sample every token of every image (the benchmark's iteration also
builds its stepper and caches). Prints one JSON line: images/s from the median run, median / min ms per
run, and the setup.

--check samples once with a small grid, asserts the cache shapes and that every step wrote exactly one
cache position, then runs the full causal forward over the same tokens (no cache) and asserts that its
logits equal the cached decode's to 1e-4.
"""
import argparse
import json
import math
import os
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

VOCAB, CLASSES, LAYERS, DIM, HEADS, HIDDEN, EPS = 512, 10, 4, 128, 2, 512, 1e-5
HEAD_DIM = DIM // HEADS
CFG_SCALE, TEMPERATURE = 2.0, 1.0
HAS_SDPA = hasattr(F, "scaled_dot_product_attention")
# --config: vocab, classes, layers, width, heads, SwiGLU hidden, CFG scale.
CONFIGS = {"demo": (VOCAB, CLASSES, LAYERS, DIM, HEADS, HIDDEN, CFG_SCALE),
           "GPT-B": (16384, 1000, 12, 768, 12, 2048, 4.0)}


class RMSNorm(nn.Module):
    """torch 1.13 has no RMSNorm: y = x / sqrt(mean(x^2) + eps) * weight."""

    def __init__(self, dim, eps=EPS):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_grid_table(grid, head_dim, base=10000.0):
    """cos/sin [T, head_dim/2] of the T = grid^2 slots: row 0 (class) zero, row j the cell of token j-1."""
    tokens, pairs = grid * grid, head_dim // 2
    half = pairs // 2
    freqs = base ** (-torch.arange(half, dtype=torch.float64) / half)
    cell = torch.arange(tokens - 1, dtype=torch.float64)
    rows, cols = torch.div(cell, grid, rounding_mode="floor"), cell % grid
    angles = torch.cat((rows[:, None] * freqs[None, :], cols[:, None] * freqs[None, :]), dim=1)
    cos = torch.cat((torch.zeros(1, pairs, dtype=torch.float64), angles.cos()))
    sin = torch.cat((torch.zeros(1, pairs, dtype=torch.float64), angles.sin()))
    return cos.float(), sin.float()


def apply_rope(x, cos, sin):
    """Rotates interleaved pairs (x[2i], x[2i+1]) of x [B, H, S, head_dim] by cos/sin [S, head_dim/2]."""
    x0, x1 = x[..., 0::2], x[..., 1::2]
    return torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1).flatten(-2)


class KVCache(nn.Module):
    """LlamaGen's KVCache: [B, H, T, D] keys and values, written at input_pos."""

    def __init__(self, batch, heads, slots, head_dim):
        super().__init__()
        self.shape = (batch, heads, slots, head_dim)
        self.register_buffer("k_cache", torch.zeros(self.shape))
        self.register_buffer("v_cache", torch.zeros(self.shape))

    def update(self, pos, k, v):
        """Writes position pos (k, v [B, H, 1, D]) and returns the prefix [0, pos] of the cache."""
        self.k_cache[:, :, pos] = k[:, :, 0]
        self.v_cache[:, :, pos] = v[:, :, 0]
        return self.k_cache[:, :, : pos + 1], self.v_cache[:, :, : pos + 1]


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.attention_norm = RMSNorm(DIM)
        self.wqkv = nn.Linear(DIM, 3 * DIM, bias=False)
        self.wo = nn.Linear(DIM, DIM, bias=False)
        self.ffn_norm = RMSNorm(DIM)
        self.w1 = nn.Linear(DIM, HIDDEN, bias=False)
        self.w3 = nn.Linear(DIM, HIDDEN, bias=False)
        self.w2 = nn.Linear(HIDDEN, DIM, bias=False)
        self.kv_cache = None

    def attention(self, x, cos, sin, pos, mask):
        b, s, _ = x.shape
        q, k, v = self.wqkv(self.attention_norm(x)).split(DIM, dim=-1)
        q, k, v = [z.view(b, s, HEADS, HEAD_DIM).transpose(1, 2) for z in (q, k, v)]
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if self.kv_cache is not None:  # decode: one new position, attend over the cache prefix
            k, v = self.kv_cache.update(pos, k, v)
            mask = None  # the prefix is exactly what the new query sees
        if HAS_SDPA:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        else:
            scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(HEAD_DIM))
            if mask is not None:
                scores = scores.masked_fill(~mask, float("-inf"))
            out = scores.softmax(dim=-1) @ v
        return self.wo(out.transpose(1, 2).reshape(b, s, DIM))

    def forward(self, x, cos, sin, pos=None, mask=None):
        h = x + self.attention(x, cos, sin, pos, mask)
        n = self.ffn_norm(h)
        return h + self.w2(F.silu(self.w1(n)) * self.w3(n))


class LlamaGen(nn.Module):
    def __init__(self, grid):
        super().__init__()
        self.slots = grid * grid
        self.tok_embeddings = nn.Embedding(VOCAB, DIM)
        self.cls_embedding = nn.Embedding(CLASSES + 1, DIM)  # the last row is the CFG null class
        self.layers = nn.ModuleList(Block() for _ in range(LAYERS))
        self.norm = RMSNorm(DIM)
        self.output = nn.Linear(DIM, VOCAB, bias=False)
        cos, sin = rope_grid_table(grid, HEAD_DIM)
        self.register_buffer("rope_cos", cos)
        self.register_buffer("rope_sin", sin)
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)

    def setup_caches(self, batch):
        for layer in self.layers:
            layer.kv_cache = KVCache(batch, HEADS, self.slots, HEAD_DIM)
            assert layer.kv_cache.k_cache.shape == (batch, HEADS, self.slots, HEAD_DIM)
            assert layer.kv_cache.v_cache.shape == (batch, HEADS, self.slots, HEAD_DIM)

    def clear_caches(self):
        for layer in self.layers:
            layer.kv_cache = None

    def decode(self, x, pos):
        """Cached step: x [B, 1, DIM] is the embedding of slot pos; returns the logits [B, VOCAB]."""
        cos, sin = self.rope_cos[pos : pos + 1], self.rope_sin[pos : pos + 1]
        for layer in self.layers:
            x = layer(x, cos, sin, pos=pos)
        return self.output(self.norm(x))[:, -1]

    def full_forward(self, labels, tokens):
        """No cache: [class ; x_0 .. x_{T-2}] -> logits [B, T, VOCAB] under a causal mask."""
        x = torch.cat((self.cls_embedding(labels)[:, None], self.tok_embeddings(tokens[:, :-1])), dim=1)
        mask = torch.ones(self.slots, self.slots, dtype=torch.bool).tril()
        for layer in self.layers:
            x = layer(x, self.rope_cos, self.rope_sin, mask=mask)
        return self.output(self.norm(x))


def sample_next(logits, images):
    """CFG over [cond ; uncond] logits [2N, V], temperature, multinomial draw; the token for both halves."""
    cond, uncond = logits.split(images, dim=0)
    guided = uncond + CFG_SCALE * (cond - uncond)
    probs = F.softmax(guided / TEMPERATURE, dim=-1)
    nxt = torch.multinomial(probs, num_samples=1)  # [N, 1]
    return torch.cat((nxt, nxt))  # [2N, 1]


def assert_cache_filled_to(model, pos):
    """--check: after the step of slot pos, every layer's cache holds slots [0, pos] and nothing beyond."""
    for layer in model.layers:
        c = layer.kv_cache
        assert c.v_cache.shape == c.k_cache.shape == c.shape, (c.k_cache.shape, c.shape)
        assert bool((c.v_cache[:, :, pos].abs().sum(-1) > 0).all()), f"slot {pos} was not written"
        assert not bool(c.v_cache[:, :, pos + 1 :].any()) and not bool(c.k_cache[:, :, pos + 1 :].any()), \
            f"slots after {pos} were written"


def generate(model, labels, keep_logits=False):
    """LlamaGen's generate(): prefill the class slots, then decode_n_tokens one position at a time."""
    images = labels.shape[0]
    cond = torch.cat((labels, torch.full_like(labels, CLASSES)))  # [2N]: the classes, then the null class
    model.setup_caches(cond.shape[0])
    kept = []
    logits = model.decode(model.cls_embedding(cond)[:, None], 0)  # prefill: slot 0 predicts x_0
    x = sample_next(logits, images)
    tokens = [x]
    if keep_logits:
        kept.append(logits)
        assert_cache_filled_to(model, 0)
    for pos in range(1, model.slots):  # slot pos holds x_{pos-1} and predicts x_pos
        logits = model.decode(model.tok_embeddings(x), pos)
        x = sample_next(logits, images)
        tokens.append(x)
        if keep_logits:
            kept.append(logits)
            assert_cache_filled_to(model, pos)
    out = torch.cat(tokens, dim=1)  # [2N, T]
    return (cond, out, torch.stack(kept, dim=1)) if keep_logits else out[:images]


def check(grid, images):
    """Cached decode against the full causal forward over the same tokens."""
    torch.manual_seed(1)
    model = LlamaGen(grid).eval()
    labels = torch.arange(images) % CLASSES
    with torch.inference_mode():
        cond, tokens, cached = generate(model, labels, keep_logits=True)
        for layer in model.layers:
            c = layer.kv_cache
            assert c.k_cache.shape == (2 * images, HEADS, grid * grid, HEAD_DIM), c.k_cache.shape
            # one write per slot: every position of the cache holds a key (slot 0's is zero: its RoPE row is)
            assert bool((c.k_cache[:, :, 1:].abs().sum(-1) > 0).all()) and bool((c.v_cache.abs().sum(-1) > 0).all())
        model.clear_caches()
        full = model.full_forward(cond, tokens)
    assert full.shape == cached.shape == (2 * images, grid * grid, VOCAB), (full.shape, cached.shape)
    err = (full - cached).abs().max().item()
    scale = full.abs().max().item()
    ok = err <= 1e-4
    print(json.dumps({"check": "cached decode vs full forward", "grid": grid, "images": images,
                      "sequences": 2 * images, "max_abs_diff": err, "max_abs_logit": round(scale, 4),
                      "tolerance": 1e-4, "sdpa": HAS_SDPA, "ok": ok, "torch": torch.__version__}))
    assert ok, f"cached logits differ from the full forward by {err}"


def loaded_blas():
    """The BLAS library this process really mapped (the setup check that LD_LIBRARY_PATH worked)."""
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "blas" in line and "/" in line}
    return ",".join(sorted({os.path.dirname(p) for p in paths if "openblas" in p})) or "unknown"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=20, help="images per run (CFG runs twice as many sequences)")
    parser.add_argument("--grid", type=int, default=16, help="token grid side: T = grid^2, RoPE row width grid")
    parser.add_argument("--reps", type=int, default=5, help="timed runs")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs first")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "1")),
                        help="torch.set_num_threads (default: $OMP_NUM_THREADS or 1)")
    parser.add_argument("--check", action="store_true",
                        help="assert cached decode == full forward (grid 4 and --grid, 3 images), then exit")
    parser.add_argument("--config", choices=sorted(CONFIGS), default="demo",
                        help="demo: the model above; GPT-B: LlamaGen GPT-B c2i (vocab 16384, 1000 classes, 12 layers "
                             "of 768, 12 heads, SwiGLU 2048) with CFG 4, bench_paper_scale's BM_sample_gpt_b")
    args = parser.parse_args()
    global VOCAB, CLASSES, LAYERS, DIM, HEADS, HIDDEN, HEAD_DIM, CFG_SCALE
    VOCAB, CLASSES, LAYERS, DIM, HEADS, HIDDEN, CFG_SCALE = CONFIGS[args.config]
    HEAD_DIM = DIM // HEADS

    torch.set_num_threads(args.threads)
    if args.check:
        for grid in sorted({4, args.grid}):
            check(grid, 3)
        return

    torch.manual_seed(0)
    model = LlamaGen(args.grid).eval()
    labels = torch.arange(args.images) % CLASSES
    times_ms = []
    with torch.inference_mode():
        for rep in range(args.warmup + args.reps):
            start = time.perf_counter()
            out = generate(model, labels)
            elapsed = 1e3 * (time.perf_counter() - start)
            assert out.shape == (args.images, args.grid * args.grid)
            if rep >= args.warmup:
                times_ms.append(elapsed)
    median_ms = statistics.median(times_ms)
    print(json.dumps({
        "images_per_s": round(1e3 * args.images / median_ms, 3),
        "median_ms": round(median_ms, 2),
        "min_ms": round(min(times_ms), 2),
        "reps": args.reps,
        "warmup": args.warmup,
        "images": args.images,
        "grid": args.grid,
        "tokens": args.grid * args.grid,
        "sequences": 2 * args.images,
        "threads": torch.get_num_threads(),
        "config": args.config,
        "params": sum(p.numel() for p in model.parameters()),
        "sdpa": HAS_SDPA,
        "torch": torch.__version__,
        "blas": loaded_blas(),
    }))


if __name__ == "__main__":
    main()
