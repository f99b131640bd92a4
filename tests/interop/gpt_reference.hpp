#pragma once
// A PyTorch module of LlamaGen's c2i GPT architecture with random weights, saved as LlamaGen saves and
// converted by scripts/convert-llamagen --kind gpt: the interop tests' source of GPT checkpoints.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "interop/interop_support.hpp"
#include "support/temp_dir.hpp"

namespace patchzoo::test {

// Written from LlamaGen's architecture facts (no code of gpt.py copied): argv = out_dir dim layers heads
// vocab classes tokens batch conditional mode. mode: good | missing | shape | extra.
inline constexpr const char* gpt_reference_py = R"PY(
import json, math, struct, sys
import torch
import torch.nn as nn
import torch.nn.functional as F

out, dim, layers, heads, vocab, classes, tokens, batch, conditional = sys.argv[1], *map(int, sys.argv[2:10])
mode = sys.argv[10]
torch.manual_seed(1234)
hd = dim // heads
ffn = int(2 * 4 * dim / 3)
ffn = ffn if ffn % 256 == 0 else ffn + 256 - ffn % 256

def freqs_2d(grid, n_elem, cls_slots, base=10000):
    half = n_elem // 2
    f = 1.0 / (base ** (torch.arange(0, half, 2)[: half // 2].float() / half))
    f = torch.outer(torch.arange(grid), f)                   # [grid, n_elem / 4]
    g = torch.cat([f[:, None, :].expand(-1, grid, -1), f[None, :, :].expand(grid, -1, -1)], dim=-1)
    cache = torch.stack([torch.cos(g), torch.sin(g)], dim=-1).flatten(0, 1)  # [grid^2, n_elem / 2, 2]
    return torch.cat([torch.zeros(cls_slots, n_elem // 2, 2), cache])

def rope(x, fc):  # x [b, s, h, hd]; interleaved pairs
    xs = x.reshape(*x.shape[:-1], -1, 2)
    fc = fc.view(1, xs.size(1), 1, xs.size(3), 2).to(x.dtype)
    return torch.stack([xs[..., 0] * fc[..., 0] - xs[..., 1] * fc[..., 1],
                        xs[..., 1] * fc[..., 0] + xs[..., 0] * fc[..., 1]], dim=-1).flatten(3)

class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__(); self.eps = eps; self.weight = nn.Parameter(torch.ones(d))
    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight

class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.wqkv = nn.Linear(dim, 3 * dim, bias=False)
        self.wo = nn.Linear(dim, dim, bias=False)
    def forward(self, x, fc):
        b, s, _ = x.shape
        q, k, v = self.wqkv(x).split([dim, dim, dim], dim=-1)
        q, k, v = q.view(b, s, heads, hd), k.view(b, s, heads, hd), v.view(b, s, heads, hd)
        q, k = rope(q, fc), rope(k, fc)
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hd)
        att = att.masked_fill(torch.ones(s, s, dtype=torch.bool).triu(1), float("-inf")).softmax(-1)
        return self.wo((att @ v).transpose(1, 2).reshape(b, s, dim))

class FeedForward(nn.Module):
    def __init__(self):
        super().__init__()
        self.w1 = nn.Linear(dim, ffn, bias=False)
        self.w3 = nn.Linear(dim, ffn, bias=False)
        self.w2 = nn.Linear(ffn, dim, bias=False)
    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))

class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.attention, self.feed_forward = Attention(), FeedForward()
        self.attention_norm, self.ffn_norm = RMSNorm(dim), RMSNorm(dim)
    def forward(self, x, fc):
        h = x + self.attention(self.attention_norm(x), fc)
        return h + self.feed_forward(self.ffn_norm(h))

class LabelEmbedder(nn.Module):
    def __init__(self):
        super().__init__(); self.embedding_table = nn.Embedding(classes + 1, dim)  # + the CFG null class

class Transformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok_embeddings = nn.Embedding(vocab, dim)
        if conditional:
            self.cls_embedding = LabelEmbedder()
        self.layers = nn.ModuleList(Block() for _ in range(layers))
        self.norm = RMSNorm(dim)
        self.output = nn.Linear(dim, vocab, bias=False)
        self.freqs_cis = freqs_2d(int(math.isqrt(tokens)), hd, 1 if conditional else 0)  # not a buffer
    def forward(self, idx, cond):
        h = self.tok_embeddings(idx)
        if conditional:
            h = torch.cat([self.cls_embedding.embedding_table(cond)[:, None], h], dim=1)
        fc = self.freqs_cis[: h.shape[1]]
        for layer in self.layers:
            h = layer(h, fc)
        return self.output(self.norm(h))

model = Transformer().eval()
with torch.no_grad():  # random weights of O(1) effect, so every path carries signal (LlamaGen zeroes its head)
    for name, p in model.named_parameters():
        if name.endswith("norm.weight"):
            p.copy_(1 + 0.1 * torch.randn_like(p))
        elif "embedding" in name:
            p.normal_(0, 1)
        else:
            p.normal_(0, 1.5 / math.sqrt(p.shape[1]))
sd = model.state_dict()
if mode == "missing":
    del sd["layers.1.feed_forward.w3.weight"]
elif mode == "shape":
    sd["layers.0.attention.wo.weight"] = torch.zeros(dim, dim + 1)
elif mode == "extra":
    sd["layers.0.attention.wqkv.bias"] = torch.zeros(3 * dim)
torch.save({"model": sd, "args": {"gpt_model": "test"}}, out + "/model.pt")
if mode != "good":
    sys.exit(0)

seq = torch.randint(0, vocab, (batch, tokens))
labels = torch.tensor([(7 * i + 3) % max(classes, 1) for i in range(batch)])
if batch > 1:
    labels[-1] = classes  # the CFG null class
with torch.no_grad():
    logits32 = model(seq[:, :-1], labels).float()
    model = model.double()
    model.freqs_cis = model.freqs_cis.double()
    logits64 = model(seq[:, :-1], labels)

def save(path, named):  # safetensors by hand: u64 header length, JSON header, raw little-endian bytes
    header, blobs, offset = {"__metadata__": {"writer": "reference.py"}}, [], 0
    for name, t, code, fmt in named:
        raw = t.contiguous().numpy().astype(fmt).tobytes()
        header[name] = {"dtype": code, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))

save(out + "/reference.safetensors", [
    ("tokens", seq.to(torch.int32), "I32", "<i4"), ("labels", labels.to(torch.int32), "I32", "<i4"),
    ("logits32", logits32.reshape(-1, vocab), "F32", "<f4"), ("logits64", logits64.reshape(-1, vocab), "F64", "<f8")])
)PY";

struct gpt_shape {
  std::int64_t dim, layers, heads, vocab, classes, tokens, batch;
  bool conditional = true;
};

// The PyTorch model's checkpoint (dir/model.pt) and, for mode "good", its logits (dir/reference.safetensors).
inline void write_gpt_reference(const temp_dir& dir, const gpt_shape& g, const std::string& mode) {
  const auto script = dir / "reference.py";
  write_file_bytes(script, gpt_reference_py);
  const std::string command = "/usr/bin/python3 " + quoted(script) + " " + quoted(dir.path) + " " +
                              std::to_string(g.dim) + " " + std::to_string(g.layers) + " " + std::to_string(g.heads) +
                              " " + std::to_string(g.vocab) + " " + std::to_string(g.classes) + " " +
                              std::to_string(g.tokens) + " " + std::to_string(g.batch) + " " +
                              (g.conditional ? "1" : "0") + " " + mode;
  REQUIRE_MESSAGE(run(command, dir / "reference.log") == 0, read_file_bytes(dir / "reference.log"));
}

inline std::string gpt_convert_command(const temp_dir& dir, const gpt_shape& g, const std::string& extra = "") {
  return "/usr/bin/python3 " + quoted(converter) + " --kind gpt " + quoted(dir / "model.pt") + " " +
         quoted(dir / "model.safetensors") + " --heads " + std::to_string(g.heads) + " --tokens " +
         std::to_string(g.tokens) + (g.conditional ? "" : " --unconditional") + extra;
}

}  // namespace patchzoo::test
