#pragma once
// A PyTorch module of LlamaGen's VQ tokenizer architecture with random weights, saved as LlamaGen saves and
// converted by scripts/convert-llamagen --kind vq: the interop tests' source of tokenizer checkpoints.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "interop/interop_support.hpp"
#include "support/temp_dir.hpp"

namespace patchzoo::test {

// Written from LlamaGen's VQ architecture facts (no code of vq_model.py copied):
// argv = out_dir ch ch_mult(comma list) num_res z_channels codebook_size codebook_dim batch image_side mode
// encode. mode: good | missing | shape | extra; encode 0 computes the decode reference only.
inline constexpr const char* vq_reference_py = R"PY(
import json, math, struct, sys
import torch
import torch.nn as nn
import torch.nn.functional as F

out, ch = sys.argv[1], int(sys.argv[2])
ch_mult = [int(m) for m in sys.argv[3].split(",")]
num_res, z_channels, n_codes, code_dim, batch, side = map(int, sys.argv[4:10])
mode, with_encode = sys.argv[10], sys.argv[11] == "1"
torch.manual_seed(4321)
levels = len(ch_mult)

def gn(c):
    return nn.GroupNorm(32, c, eps=1e-6, affine=True)

def swish(x):
    return x * torch.sigmoid(x)

class ResnetBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.norm1, self.conv1 = gn(cin), nn.Conv2d(cin, cout, 3, 1, 1)
        self.norm2, self.conv2 = gn(cout), nn.Conv2d(cout, cout, 3, 1, 1)
        if cin != cout:
            self.nin_shortcut = nn.Conv2d(cin, cout, 1, 1, 0)
        self.cin, self.cout = cin, cout
    def forward(self, x):
        h = self.conv1(swish(self.norm1(x)))
        h = self.conv2(swish(self.norm2(h)))  # dropout 0 at inference
        return (self.nin_shortcut(x) if self.cin != self.cout else x) + h

class AttnBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm = gn(c)
        self.q, self.k, self.v, self.proj_out = (nn.Conv2d(c, c, 1) for _ in range(4))
    def forward(self, x):
        h = self.norm(x)
        b, c, hh, ww = x.shape
        q = self.q(h).reshape(b, c, hh * ww).transpose(1, 2)      # [b, hw, c]
        k = self.k(h).reshape(b, c, hh * ww)                      # [b, c, hw]
        w = torch.softmax(torch.bmm(q, k) * c ** -0.5, dim=2)     # [b, hw (query), hw (key)]
        v = self.v(h).reshape(b, c, hh * ww)
        o = torch.bmm(v, w.transpose(1, 2)).reshape(b, c, hh, ww)
        return x + self.proj_out(o)

class Downsample(nn.Module):
    def __init__(self, c):
        super().__init__(); self.conv = nn.Conv2d(c, c, 3, 2, 0)
    def forward(self, x):
        return self.conv(F.pad(x, (0, 1, 0, 1), mode="constant", value=0))

class Upsample(nn.Module):
    def __init__(self, c):
        super().__init__(); self.conv = nn.Conv2d(c, c, 3, 1, 1)
    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))

class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv_in = nn.Conv2d(3, ch, 3, 1, 1)
        self.conv_blocks = nn.ModuleList()
        block_in = ch
        for l in range(levels):
            blk = nn.Module()
            res, attn = nn.ModuleList(), nn.ModuleList()
            for _ in range(num_res):
                res.append(ResnetBlock(block_in, ch * ch_mult[l])); block_in = ch * ch_mult[l]
                if l == levels - 1:
                    attn.append(AttnBlock(block_in))
            blk.res, blk.attn = res, attn
            if l != levels - 1:
                blk.downsample = Downsample(block_in)
            self.conv_blocks.append(blk)
        self.mid = nn.ModuleList([ResnetBlock(block_in, block_in), AttnBlock(block_in), ResnetBlock(block_in, block_in)])
        self.norm_out, self.conv_out = gn(block_in), nn.Conv2d(block_in, z_channels, 3, 1, 1)
    def forward(self, x):
        h = self.conv_in(x)
        for l, blk in enumerate(self.conv_blocks):
            for i in range(num_res):
                h = blk.res[i](h)
                if len(blk.attn) > 0:
                    h = blk.attn[i](h)
            if l != levels - 1:
                h = blk.downsample(h)
        for m in self.mid:
            h = m(h)
        return self.conv_out(swish(self.norm_out(h)))

class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        block_in = ch * ch_mult[-1]
        self.conv_in = nn.Conv2d(z_channels, block_in, 3, 1, 1)
        self.mid = nn.ModuleList([ResnetBlock(block_in, block_in), AttnBlock(block_in), ResnetBlock(block_in, block_in)])
        self.conv_blocks = nn.ModuleList()
        for l in range(levels):
            blk = nn.Module()
            res, attn = nn.ModuleList(), nn.ModuleList()
            for _ in range(num_res + 1):
                res.append(ResnetBlock(block_in, ch * ch_mult[levels - 1 - l])); block_in = ch * ch_mult[levels - 1 - l]
                if l == 0:
                    attn.append(AttnBlock(block_in))
            blk.res, blk.attn = res, attn
            if l != levels - 1:
                blk.upsample = Upsample(block_in)
            self.conv_blocks.append(blk)
        self.norm_out, self.conv_out = gn(block_in), nn.Conv2d(block_in, 3, 3, 1, 1)
    def forward(self, z):
        h = self.conv_in(z)
        for m in self.mid:
            h = m(h)
        for l, blk in enumerate(self.conv_blocks):
            for i in range(num_res + 1):
                h = blk.res[i](h)
                if len(blk.attn) > 0:
                    h = blk.attn[i](h)
            if l != levels - 1:
                h = blk.upsample(h)
        return self.conv_out(swish(self.norm_out(h)))

class VectorQuantizer(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(n_codes, code_dim)
        self.register_buffer("codebook_used", torch.zeros(65536))  # LlamaGen's usage statistics, not a weight

class VQModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder, self.decoder = Encoder(), Decoder()
        self.quantize = VectorQuantizer()
        self.quant_conv = nn.Conv2d(z_channels, code_dim, 1)
        self.post_quant_conv = nn.Conv2d(code_dim, z_channels, 1)
    def latents(self, x):
        return self.quant_conv(self.encoder(x))
    def scores(self, z):  # cosine of every latent with every code: [N h w, K]
        zf = F.normalize(z.permute(0, 2, 3, 1).reshape(-1, code_dim), p=2, dim=-1)
        return zf @ F.normalize(self.quantize.embedding.weight, p=2, dim=-1).t()
    def decode_code(self, codes):
        e = F.normalize(self.quantize.embedding.weight, p=2, dim=-1)[codes]   # [N, h, w, D]
        return self.decoder(self.post_quant_conv(e.permute(0, 3, 1, 2).contiguous()))

model = VQModel().eval()
with torch.no_grad():  # O(1) random weights, so every block changes the result
    for name, p in model.named_parameters():
        if name.endswith("embedding.weight"):
            p.normal_(0, 1)
        elif p.dim() == 4:
            p.normal_(0, 1.0 / math.sqrt(p[0].numel()))
        elif ".norm" in name and name.endswith("weight"):
            p.copy_(1 + 0.1 * torch.randn_like(p))
        else:
            p.normal_(0, 0.1)
sd = model.state_dict()
if mode == "missing":
    del sd["decoder.conv_blocks.0.attn.1.k.weight"]
elif mode == "shape":
    sd["encoder.conv_blocks.0.downsample.conv.weight"] = torch.zeros(ch, ch, 3, 4)
elif mode == "extra":
    sd["encoder.conv_blocks.0.attn.0.q.weight"] = torch.zeros(ch, ch, 1, 1)
torch.save({"model": sd, "optimizer": {}, "steps": 0}, out + "/vq.pt")
if mode != "good":
    sys.exit(0)

h = side // 2 ** (levels - 1)
codes = torch.randint(0, n_codes, (batch, h, h))
images = torch.rand(batch, 3, side, side) * 2 - 1
with torch.no_grad():
    dec32 = model.decode_code(codes)
    if with_encode:
        lat32 = model.latents(images)
        codes32 = model.scores(lat32).argmax(-1)
    model = model.double()
    dec64 = model.decode_code(codes)
    if with_encode:
        lat64 = model.latents(images.double())
        top2 = model.scores(lat64).topk(2, dim=-1).values
        codes64 = model.scores(lat64).argmax(-1)
        gap64 = top2[:, 0] - top2[:, 1]

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

tensors = [("codes", codes.to(torch.int32), "I32", "<i4"), ("images", images, "F32", "<f4"),
           ("decoded32", dec32, "F32", "<f4"), ("decoded64", dec64, "F64", "<f8")]
if with_encode:
    tensors += [("latents32", lat32, "F32", "<f4"), ("latents64", lat64, "F64", "<f8"),
                ("codes32", codes32.to(torch.int32), "I32", "<i4"),
                ("codes64", codes64.to(torch.int32), "I32", "<i4"), ("gap64", gap64, "F64", "<f8")]
save(out + "/reference.safetensors", tensors)
)PY";

struct vq_shape {
  std::int64_t ch;
  std::string ch_mult;  // comma list, as the script takes it
  std::int64_t num_res, z_channels, codes, code_dim, batch, side;
};

inline void write_vq_reference(const temp_dir& dir, const vq_shape& g, const std::string& mode, bool encode = true) {
  const auto script = dir / "reference.py";
  write_file_bytes(script, vq_reference_py);
  const std::string command = "/usr/bin/python3 " + quoted(script) + " " + quoted(dir.path) + " " +
                              std::to_string(g.ch) + " " + g.ch_mult + " " + std::to_string(g.num_res) + " " +
                              std::to_string(g.z_channels) + " " + std::to_string(g.codes) + " " +
                              std::to_string(g.code_dim) + " " + std::to_string(g.batch) + " " +
                              std::to_string(g.side) + " " + mode + (encode ? " 1" : " 0");
  REQUIRE_MESSAGE(run(command, dir / "reference.log") == 0, read_file_bytes(dir / "reference.log"));
}

inline std::string vq_convert_command(const temp_dir& dir, const std::string& extra = "") {
  return "/usr/bin/python3 " + quoted(converter) + " --kind vq " + quoted(dir / "vq.pt") + " " +
         quoted(dir / "vq.safetensors") + extra;
}

}  // namespace patchzoo::test
