#!/usr/bin/python3
"""PyTorch anchor: LlamaGen's VQ-16 tokenizer decoding codes to 256 px images and encoding images to codes, timed.

    LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp OMP_NUM_THREADS=2 \\
        /usr/bin/python3 bench/anchors/torch_vq16.py --images 1 --threads 2 [--reps 2] [--warmup 1]

The model is VQ-16 as LlamaGen's tokenizer/tokenizer_image/vq_model.py defines it (written here from its
published architecture, as tests/interop/vq_reference.hpp is): encoder conv_in 3 -> 128, five levels with
ch_mult (1, 1, 2, 2, 4), 2 ResnetBlocks per level (GroupNorm 32 groups eps 1e-6, swish, 3x3 convs, a 1x1
shortcut where the channels change), AttnBlocks at the last level, Downsample = pad (0, 1, 0, 1) + 3x3 stride 2,
a mid block (res, attn, res), norm, swish, conv_out to 256 channels, quant_conv to 8; the decoder mirrors it with
3 ResnetBlocks per level, AttnBlocks at its first level and Upsample = nearest x2 + 3x3; codes are rows of the
l2-normalised 16384 x 8 codebook. Random weights (PyTorch's default init): only speed is compared, against
bench_paper_scale's BM_vq16_decode / BM_vq16_encode. Prints one JSON line.
"""
import argparse
import json
import os
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

CH, CH_MULT, NUM_RES, Z, CODES, CODE_DIM = 128, (1, 1, 2, 2, 4), 2, 256, 16384, 8


def norm(c):
    return nn.GroupNorm(32, c, eps=1e-6, affine=True)


class Res(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.norm1, self.conv1 = norm(cin), nn.Conv2d(cin, cout, 3, 1, 1)
        self.norm2, self.conv2 = norm(cout), nn.Conv2d(cout, cout, 3, 1, 1)
        self.shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x):
        h = self.conv1(F.silu(self.norm1(x)))
        return self.shortcut(x) + self.conv2(F.silu(self.norm2(h)))


class Attn(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm = norm(c)
        self.q, self.k, self.v, self.proj_out = (nn.Conv2d(c, c, 1) for _ in range(4))

    def forward(self, x):
        h = self.norm(x)
        b, c, hh, ww = x.shape
        q = self.q(h).reshape(b, c, hh * ww).transpose(1, 2)
        w = torch.softmax(torch.bmm(q, self.k(h).reshape(b, c, hh * ww)) * c ** -0.5, dim=2)
        o = torch.bmm(self.v(h).reshape(b, c, hh * ww), w.transpose(1, 2)).reshape(b, c, hh, ww)
        return x + self.proj_out(o)


def encoder():
    layers, c = [nn.Conv2d(3, CH, 3, 1, 1)], CH
    for level, m in enumerate(CH_MULT):
        for _ in range(NUM_RES):
            layers.append(Res(c, CH * m))
            c = CH * m
            if level == len(CH_MULT) - 1:
                layers.append(Attn(c))
        if level != len(CH_MULT) - 1:
            layers += [nn.ZeroPad2d((0, 1, 0, 1)), nn.Conv2d(c, c, 3, 2, 0)]
    layers += [Res(c, c), Attn(c), Res(c, c), norm(c), nn.SiLU(), nn.Conv2d(c, Z, 3, 1, 1), nn.Conv2d(Z, CODE_DIM, 1)]
    return nn.Sequential(*layers)


def decoder():
    c = CH * CH_MULT[-1]
    layers = [nn.Conv2d(CODE_DIM, Z, 1), nn.Conv2d(Z, c, 3, 1, 1), Res(c, c), Attn(c), Res(c, c)]
    for level in range(len(CH_MULT)):
        for _ in range(NUM_RES + 1):
            layers.append(Res(c, CH * CH_MULT[len(CH_MULT) - 1 - level]))
            c = CH * CH_MULT[len(CH_MULT) - 1 - level]
            if level == 0:
                layers.append(Attn(c))
        if level != len(CH_MULT) - 1:
            layers += [nn.Upsample(scale_factor=2.0, mode="nearest"), nn.Conv2d(c, c, 3, 1, 1)]
    layers += [norm(c), nn.SiLU(), nn.Conv2d(c, 3, 3, 1, 1)]
    return nn.Sequential(*layers)


def timed(fn, reps, warmup):
    times = []
    for rep in range(warmup + reps):
        start = time.perf_counter()
        fn()
        if rep >= warmup:
            times.append(1e3 * (time.perf_counter() - start))
    return statistics.median(times), min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1)
    parser.add_argument("--reps", type=int, default=2, help="timed runs")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs first")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "1")))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    enc, dec = encoder().eval(), decoder().eval()
    codebook = F.normalize(torch.randn(CODES, CODE_DIM), dim=-1)
    codes = torch.randint(0, CODES, (args.images, 16, 16))
    images = torch.rand(args.images, 3, 256, 256) * 2 - 1

    def decode():
        out = dec(codebook[codes].permute(0, 3, 1, 2).contiguous())
        assert out.shape == (args.images, 3, 256, 256)

    def encode():
        z = F.normalize(enc(images).permute(0, 2, 3, 1).reshape(-1, CODE_DIM), dim=-1)
        assert (z @ codebook.t()).argmax(-1).numel() == args.images * 256

    with torch.inference_mode():
        decode_ms, decode_min = timed(decode, args.reps, args.warmup)
        encode_ms, encode_min = timed(encode, args.reps, args.warmup)
    print(json.dumps({
        "decode_images_per_s": round(1e3 * args.images / decode_ms, 4), "decode_median_ms": round(decode_ms, 1),
        "decode_min_ms": round(decode_min, 1), "encode_images_per_s": round(1e3 * args.images / encode_ms, 4),
        "encode_median_ms": round(encode_ms, 1), "encode_min_ms": round(encode_min, 1), "images": args.images,
        "threads": torch.get_num_threads(), "torch": torch.__version__,
        "params": sum(p.numel() for p in enc.parameters()) + sum(p.numel() for p in dec.parameters()),
    }))


if __name__ == "__main__":
    main()
