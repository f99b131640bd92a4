// LlamaGen's VQ tokenizer, proven equal to PyTorch: a PyTorch module with the architecture of LlamaGen's
// tokenizer/tokenizer_image/vq_model.py (written here from its facts: names, ResnetBlock / AttnBlock /
// Downsample / Upsample, GroupNorm(32, eps 1e-6), l2-normalised codebook) gets random weights, is saved as
// LlamaGen saves ({"model": state_dict}), converted by scripts/convert-llamagen --kind vq and loaded by
// load_llamagen_vq; decoding given codes and encoding given images must equal PyTorch. Also: corrupted
// checkpoints refused by the converter and by the loader, with the tensor's name.
// Skipped (a message, not a failure) when /usr/bin/python3 cannot import torch.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "patchzoo/backend/eigen/eigen_backend.hpp"
#include "patchzoo/backend/xtensor/xtensor_backend.hpp"
#include "patchzoo/io/safetensors.hpp"
#include "patchzoo/vq/vq16_import.hpp"
#include "interop/interop_support.hpp"
#include "support/temp_dir.hpp"
#include "support/tolerances.hpp"

using namespace patchzoo;
using namespace patchzoo::test;

namespace {

// Written from LlamaGen's VQ architecture facts (no code of vq_model.py copied):
// argv = out_dir ch ch_mult(comma list) num_res z_channels codebook_size codebook_dim batch image_side mode
// encode. mode: good | missing | shape | extra; encode 0 computes the decode reference only.
constexpr const char* reference_py = R"PY(
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

void write_reference(const temp_dir& dir, const vq_shape& g, const std::string& mode, bool encode = true) {
  const auto script = dir / "reference.py";
  write_file_bytes(script, reference_py);
  const std::string command = "/usr/bin/python3 " + quoted(script) + " " + quoted(dir.path) + " " +
                              std::to_string(g.ch) + " " + g.ch_mult + " " + std::to_string(g.num_res) + " " +
                              std::to_string(g.z_channels) + " " + std::to_string(g.codes) + " " +
                              std::to_string(g.code_dim) + " " + std::to_string(g.batch) + " " +
                              std::to_string(g.side) + " " + mode + (encode ? " 1" : " 0");
  REQUIRE_MESSAGE(run(command, dir / "reference.log") == 0, read_file_bytes(dir / "reference.log"));
}

std::string convert_command(const temp_dir& dir, const std::string& extra = "") {
  return "/usr/bin/python3 " + quoted(converter) + " --kind vq " + quoted(dir / "vq.pt") + " " +
         quoted(dir / "vq.safetensors") + extra;
}

struct diff {
  double max_abs = 0, rms_want = 0;
  bool within = true;
};

template <class W>
diff compare(const tensor<float>& got, const tensor<W>& want, test::tolerance tol) {
  diff d;
  REQUIRE(got.numel() == want.numel());
  for (std::int64_t i = 0; i < got.numel(); ++i) {
    const double w = static_cast<double>(want[i]), e = std::abs(static_cast<double>(got[i]) - w);
    d.max_abs = std::max(d.max_abs, e);
    d.rms_want += w * w;
    if (!(e <= tol.abs + tol.rel * std::abs(w))) d.within = false;
  }
  d.rms_want = std::sqrt(d.rms_want / static_cast<double>(want.numel()));
  return d;
}

// docs/numerics.md, "llamagen_vq": our float32 images / latents against PyTorch's (float32 and float64).
const test::tolerance vq_tol = test::f32_tolerance("llamagen_vq");
// A code may differ from PyTorch's only where its best two cosines are closer than this (float64).
constexpr double code_tie_gap = 1e-4;

template <class B>
void check_against_pytorch(const vq_shape& g, bool encode_too, const std::string& convert_extra = "") {
  using clock = std::chrono::steady_clock;
  const auto secs = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
  temp_dir dir("llamagen_vq");
  const auto t0 = clock::now();
  write_reference(dir, g, "good", encode_too);
  const auto t1 = clock::now();
  REQUIRE_MESSAGE(run(convert_command(dir, convert_extra), dir / "convert.log") == 0,
                  read_file_bytes(dir / "convert.log"));
  const auto t2 = clock::now();
  B be;
  const auto model = vq::load_llamagen_vq(be, dir / "vq.safetensors");
  const auto& c = model->config();
  CHECK(c.ch == g.ch);
  CHECK(c.num_res_blocks == g.num_res);
  CHECK(c.z_channels == g.z_channels);
  CHECK(c.codebook_size == g.codes);
  CHECK(c.codebook_dim == g.code_dim);

  const safetensors_reader ref(dir / "reference.safetensors");
  const auto t3 = clock::now();
  const tensor<float> decoded = model->decode(be, ref.load<std::int32_t>("codes"));
  const auto t4 = clock::now();
  CHECK(decoded.shape() == ref.load<float>("decoded32").shape());
  const diff d32 = compare(decoded, ref.load<float>("decoded32"), vq_tol);
  const diff d64 = compare(decoded, ref.load<double>("decoded64"), vq_tol);
  const diff t64 = compare(ref.load<float>("decoded32"), ref.load<double>("decoded64"), vq_tol);
  MESSAGE("llamagen_vq ", B::name, " ch ", g.ch, " ch_mult (", g.ch_mult, ") res ", g.num_res, " z ", g.z_channels,
          " codebook ", g.codes, " x ", g.code_dim, " batch ", g.batch, " codes ", g.side / c.downsample(), "^2: decode rms ",
          d64.rms_want, "; max |ours - torch f32| ", d32.max_abs, ", max |ours - torch f64| ", d64.max_abs,
          ", max |torch f32 - torch f64| ", t64.max_abs, "; seconds: pytorch ", secs(t0, t1), ", convert ",
          secs(t1, t2), ", load ", secs(t2, t3), ", decode ", secs(t3, t4));
  CHECK(d64.rms_want > 0.1);  // the images carry signal
  CHECK(d32.within);
  CHECK(d64.within);
  if (!encode_too) return;

  const tensor<float> images = ref.load<float>("images");
  const auto t5 = clock::now();
  tensor<float> latents;
  const tensor<std::int32_t> codes = model->encode(be, images, &latents);
  const auto t6 = clock::now();
  const diff l32 = compare(latents, ref.load<float>("latents32"), vq_tol);
  const diff l64 = compare(latents, ref.load<double>("latents64"), vq_tol);
  const diff lt = compare(ref.load<float>("latents32"), ref.load<double>("latents64"), vq_tol);
  const auto codes64 = ref.load<std::int32_t>("codes64");
  const auto codes32 = ref.load<std::int32_t>("codes32");
  const auto gap = ref.load<double>("gap64");
  REQUIRE(codes.numel() == codes64.numel());
  std::int64_t differ = 0, torch_differ = 0, untied = 0;
  double min_gap = 1;
  for (std::int64_t i = 0; i < codes.numel(); ++i) {
    min_gap = std::min(min_gap, gap[i]);
    if (codes32[i] != codes64[i]) ++torch_differ;
    if (codes[i] == codes64[i]) continue;
    ++differ;
    if (gap[i] >= code_tie_gap) ++untied;
  }
  MESSAGE("llamagen_vq ", B::name, " encode: latents rms ", l64.rms_want, "; max |ours - torch f32| ", l32.max_abs,
          ", max |ours - torch f64| ", l64.max_abs, ", max |torch f32 - torch f64| ", lt.max_abs, "; codes differing from torch f64: ",
          differ, " of ", codes.numel(), " (torch f32: ", torch_differ, "), smallest top-2 cosine gap ", min_gap,
          "; seconds: encode ", secs(t5, t6));
  CHECK(l64.rms_want > 0.1);
  CHECK(l32.within);
  CHECK(l64.within);
  CHECK(untied == 0);  // a differing code only at a near-tie of the two best cosines
}

const vq_shape small{.ch = 32, .ch_mult = "1,2", .num_res = 1, .z_channels = 64, .codes = 64, .code_dim = 8,
                     .batch = 2, .side = 16};

}  // namespace

TEST_CASE("llamagen vq: a small tokenizer decodes and encodes as PyTorch (eigen and xtensor)") {
  if (!torch_available()) {
    MESSAGE("skipped: /usr/bin/python3 cannot import torch");
    return;
  }
  check_against_pytorch<eigen_backend>(small, true);
  check_against_pytorch<xtensor_backend>(small, true);
  check_against_pytorch<eigen_backend>(
      {.ch = 32, .ch_mult = "1,1,2", .num_res = 2, .z_channels = 32, .codes = 512, .code_dim = 8, .batch = 1, .side = 32},
      true);
}

const vq_shape vq16{.ch = 128, .ch_mult = "1,1,2,2,4", .num_res = 2, .z_channels = 256, .codes = 16384,
                    .code_dim = 8, .batch = 1, .side = 256};

// Decode only in the default run (PyTorch's float32 + float64 passes dominate the time).
TEST_CASE("llamagen vq: VQ-16 at full size (ch 128, ch_mult 1,1,2,2,4, 16384 x 8 codes, 256 px) decodes as PyTorch") {
  if (!torch_available()) {
    MESSAGE("skipped: /usr/bin/python3 cannot import torch");
    return;
  }
  check_against_pytorch<eigen_backend>(vq16, false, " --config VQ-16");
}

// Decode and encode at full size: 67 - 88 s on 2 shared cores, so only with --no-skip (docs/llamagen.md).
TEST_CASE("llamagen vq: VQ-16 at full size encodes and decodes as PyTorch (slow)" * doctest::skip()) {
  if (!torch_available()) {
    MESSAGE("skipped: /usr/bin/python3 cannot import torch");
    return;
  }
  check_against_pytorch<eigen_backend>(vq16, true, " --config VQ-16");
}

TEST_CASE("llamagen vq: the converter refuses a missing, mis-shaped or unknown tensor by name and writes nothing") {
  if (!torch_available()) {
    MESSAGE("skipped: /usr/bin/python3 cannot import torch");
    return;
  }
  const auto refused = [&](const std::string& mode, const std::string& extra, const std::string& expected) {
    CAPTURE(mode);
    CAPTURE(extra);
    temp_dir dir("llamagen_vq_refuse");
    write_reference(dir, small, mode);
    const int status = run(convert_command(dir, extra), dir / "convert.log");
    const std::string log = read_file_bytes(dir / "convert.log");
    CAPTURE(log);
    CHECK(status == 2);
    CHECK(log.find(expected) != std::string::npos);
    CHECK(log.find("nothing written") != std::string::npos);
    std::vector<std::string> files;
    for (const auto& e : std::filesystem::directory_iterator(dir.path)) files.push_back(e.path().filename().string());
    std::sort(files.begin(), files.end());
    std::vector<std::string> expected_files{"convert.log", "reference.log", "reference.py"};
    if (mode == "good") expected_files.push_back("reference.safetensors");
    expected_files.push_back("vq.pt");
    CHECK(files == expected_files);  // no output, no temporary left beside it
  };
  refused("missing", "", "missing tensor 'decoder.conv_blocks.0.attn.1.k.weight' (expected [64, 64, 1, 1])");
  refused("shape", "",
          "tensor 'encoder.conv_blocks.0.downsample.conv.weight': shape mismatch: expected [32, 32, 3, 3], found [32, 32, 3, 4]");
  refused("extra", "", "unknown tensor 'encoder.conv_blocks.0.attn.0.q.weight' of shape [32, 32, 1, 1]");
  refused("good", " --config VQ-16", "VQ-16 has ch 128, the state dict has 32");
  refused("good", " --heads 4", "--heads: not options of --kind vq");
}

TEST_CASE("llamagen vq: the loader refuses a missing, mis-shaped or unknown tensor and a foreign file by name") {
  if (!torch_available()) {
    MESSAGE("skipped: /usr/bin/python3 cannot import torch");
    return;
  }
  temp_dir dir("llamagen_vq_loader");
  write_reference(dir, small, "good");
  REQUIRE_MESSAGE(run(convert_command(dir), dir / "convert.log") == 0, read_file_bytes(dir / "convert.log"));
  const safetensors_reader good(dir / "vq.safetensors");
  CHECK(good.metadata().at("source.state_dict") == "model");
  CHECK(!good.contains("quantize.codebook_used"));

  // A copy of the converted file with one change (interop_support.hpp).
  const auto variant = [&](const std::string& name, const std::string& skip, const std::string& reshape,
                           const std::string& extra, bool keep_format = true) {
    return write_changed_copy(good, dir / name, {skip, reshape, extra, 7, !keep_format});
  };
  eigen_backend be;
  CHECK_THROWS_WITH_AS(vq::load_llamagen_vq(be, variant("missing.safetensors", "decoder.mid.1.proj_out.bias", "", "")),
                       doctest::Contains("missing tensor 'decoder.mid.1.proj_out.bias' (expected F32 [64])"),
                       patchzoo::error);
  CHECK_THROWS_WITH_AS(vq::load_llamagen_vq(be, variant("shape.safetensors", "", "quantize.embedding.weight", "")),
                       doctest::Contains("tensor 'quantize.embedding.weight': shape mismatch: expected [64, 8] "
                                         "(destination), found [64, 65] (file)"),
                       patchzoo::error);
  CHECK_THROWS_WITH_AS(vq::load_llamagen_vq(be, variant("extra.safetensors", "", "", "encoder.mid.1.bias")),
                       doctest::Contains("unknown tensor 'encoder.mid.1.bias' of shape [7]"), patchzoo::error);
  CHECK_THROWS_WITH_AS(vq::load_llamagen_vq(be, variant("foreign.safetensors", "", "", "", false)),
                       doctest::Contains("not a converted LlamaGen VQ checkpoint (metadata 'format' is missing"),
                       patchzoo::error);
  CHECK_NOTHROW(vq::load_llamagen_vq(be, variant("copy.safetensors", "", "", "")));
}
