#!/usr/bin/env python3
"""Writes a small safetensors file with only json + struct, as an independent reference writer.

Usage: write_safetensors.py OUTPUT. The C++ test checks the values it finds against the ones below.
"""
import json
import struct
import sys


def main(path):
    tensors = [
        ("embed.weight", "F32", [2, 3], struct.pack("<6f", 0.5, -1.0, 2.0, 3.5, -4.25, 1e-3)),
        ("norm.eps", "F64", [], struct.pack("<d", 1e-6)),
        ("token_ids", "I32", [4], struct.pack("<4i", 3, -1, 70000, 0)),
        ("flags", "U8", [3], bytes([1, 0, 255])),
        ("bf16_bits", "BF16", [2], struct.pack("<2H", 0x3F80, 0xC000)),
    ]
    header = {"__metadata__": {"writer": "python", "format": "pt"}}
    offset = 0
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    text = json.dumps(header).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for _, _, _, data in tensors:
            f.write(data)


if __name__ == "__main__":
    main(sys.argv[1])
