#!/usr/bin/python3
"""PyTorch anchor: one full training step of patchzoo's reference model, timed.

Run it with Debian's python3-torch 1.13 and the OpenMP build of OpenBLAS, the fair 2-thread setup
(the default pthread OpenBLAS fights torch's OpenMP threads and runs about 2x slower):

    LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp OMP_NUM_THREADS=2 \\
        /usr/bin/python3 bench/anchors/torch_step.py [--reps 10] [--warmup 3]

The model is exactly the reference model of the C++ benchmark bench_train_step:
vocab 1024, d 256, 4 layers, 4 heads of 64, seq 256, batch 8; token embedding only (no position
embedding); pre-norm blocks x + Wo attn(rope(q), rope(k), v) with a causal mask, then
h + W2 (silu(W1 n2(h)) * W3 n2(h)) with SwiGLU hidden 768; RMSNorm (eps 1e-5, learned weight);
interleaved RoPE, base 10000; no biases; final RMSNorm and an untied lm head; mean cross-entropy;
AdamW lr 3e-4, betas (0.9, 0.95), eps 1e-8, weight decay 0.05 on 2-D weights only; no dropout.

A step is zero_grad, forward, loss, backward, (optional global-norm clip,) AdamW step. Prints one JSON line:
{"median_ms": ..., "min_ms": ..., "reps": ...} (plus the setup it ran with).
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

VOCAB, D_MODEL, LAYERS, HEADS, SEQ, BATCH, HIDDEN = 1024, 256, 4, 4, 256, 8, 768
HEAD_DIM = D_MODEL // HEADS


class RMSNorm(nn.Module):
    """torch 1.13 has no RMSNorm: y = x / sqrt(mean(x^2) + eps) * weight."""

    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(seq, head_dim, base=10000.0):
    """cos/sin [seq, head_dim/2] of angle pos * base^(-2i/head_dim)."""
    inv_freq = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
    angles = torch.arange(seq, dtype=torch.float32)[:, None] * inv_freq[None, :]
    return angles.cos(), angles.sin()


def apply_rope(x, cos, sin):
    """Rotates interleaved pairs (x[2i], x[2i+1]) of x [B, H, T, head_dim]."""
    x0, x1 = x[..., 0::2], x[..., 1::2]
    return torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1).flatten(-2)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm1 = RMSNorm(D_MODEL)
        self.qkv = nn.Linear(D_MODEL, 3 * D_MODEL, bias=False)  # fused Wq, Wk, Wv
        self.wo = nn.Linear(D_MODEL, D_MODEL, bias=False)
        self.norm2 = RMSNorm(D_MODEL)
        self.w1 = nn.Linear(D_MODEL, HIDDEN, bias=False)
        self.w3 = nn.Linear(D_MODEL, HIDDEN, bias=False)
        self.w2 = nn.Linear(HIDDEN, D_MODEL, bias=False)

    def forward(self, x, cos, sin, causal):
        b, t, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).split(d, dim=2)
        q, k, v = [z.view(b, t, HEADS, HEAD_DIM).transpose(1, 2) for z in (q, k, v)]
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(HEAD_DIM)
        att = scores.masked_fill(~causal, float("-inf")).softmax(dim=-1)
        h = x + self.wo((att @ v).transpose(1, 2).contiguous().view(b, t, d))
        n = self.norm2(h)
        return h + self.w2(F.silu(self.w1(n)) * self.w3(n))


class ReferenceModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(VOCAB, D_MODEL)
        self.blocks = nn.ModuleList(Block() for _ in range(LAYERS))
        self.norm = RMSNorm(D_MODEL)
        self.head = nn.Linear(D_MODEL, VOCAB, bias=False)
        cos, sin = rope_tables(SEQ, HEAD_DIM)
        self.register_buffer("cos", cos)
        self.register_buffer("sin", sin)
        self.register_buffer("causal", torch.ones(SEQ, SEQ, dtype=torch.bool).tril())

    def forward(self, ids):
        x = self.tok(ids)
        for block in self.blocks:
            x = block(x, self.cos, self.sin, self.causal)
        return self.head(self.norm(x))


def make_optimizer(model):
    decay = [p for p in model.parameters() if p.dim() == 2]
    no_decay = [p for p in model.parameters() if p.dim() != 2]
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}],
        lr=3e-4, betas=(0.9, 0.95), eps=1e-8)


def loaded_blas():
    """The BLAS library this process really mapped (the setup check that LD_LIBRARY_PATH worked)."""
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "blas" in line and "/" in line}
    return ",".join(sorted({os.path.dirname(p) for p in paths if "openblas" in p})) or "unknown"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=10, help="timed steps")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    parser.add_argument("--clip-grad-norm", type=float, default=0.0,
                        help="clip the global gradient norm before AdamW (0: off); compare_step.sh sets it "
                             "to mirror bench_train_step")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = ReferenceModel()
    opt = make_optimizer(model)
    ids = torch.randint(0, VOCAB, (BATCH, SEQ))
    targets = torch.randint(0, VOCAB, (BATCH, SEQ))

    def step():
        opt.zero_grad(set_to_none=False)
        logits = model(ids)
        loss = F.cross_entropy(logits.view(-1, VOCAB), targets.view(-1))
        loss.backward()
        if args.clip_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip_grad_norm)
        opt.step()
        return loss.item()

    for _ in range(args.warmup):
        step()
    times_ms = []
    for _ in range(args.reps):
        start = time.perf_counter()
        step()
        times_ms.append(1e3 * (time.perf_counter() - start))

    print(json.dumps({
        "median_ms": round(statistics.median(times_ms), 2),
        "min_ms": round(min(times_ms), 2),
        "reps": args.reps,
        "clip_grad_norm": args.clip_grad_norm,
        "threads": torch.get_num_threads(),
        "params": sum(p.numel() for p in model.parameters()),
        "torch": torch.__version__,
        "blas": loaded_blas(),
    }))


if __name__ == "__main__":
    main()
