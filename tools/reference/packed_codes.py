"""Independent (numpy) restatement of Whittle's packed low-bit layout and the ternary matmul.

Layout (docs/ARCHITECTURE.md "Packed low-bit weights"): per matrix row, ceil(cols / (256/bits))
groups of 32 bytes; byte t of a group holds columns t, t+32, t+64, ... of that group, the first in
the lowest bits; a field stores code + 2**(bits-1); padding columns hold the zero code.
Writes fixtures/quant/packed_codes.json: seeded codes, their packed bytes, int8 activations and the
exact int32 products a @ codes.T (the kernel's result).

    /root/venv/bin/python tools/reference/packed_codes.py
"""
import json
import os

import numpy as np


def pack(codes, bits):
    rows, cols = codes.shape
    per_group = 256 // bits
    groups = -(-cols // per_group)
    off = 1 << (bits - 1)
    fields = np.full((rows, groups * per_group), off, dtype=np.uint8)
    fields[:, :cols] = (codes + off).astype(np.uint8)
    fields = fields.reshape(rows, groups, per_group // 32, 32)          # [row, group, k, t]
    shifts = (np.arange(per_group // 32) * bits).astype(np.uint8)
    packed = np.bitwise_or.reduce(fields << shifts[None, None, :, None], axis=2)   # [row, group, t]
    return packed.reshape(rows, groups * 32)


def main():
    rng = np.random.default_rng(20261201)
    cases = []
    for bits, rows, cols, m in [(2, 5, 130, 3), (2, 7, 384, 5), (4, 3, 70, 2)]:
        top = (1 << (bits - 1)) - 1
        codes = rng.integers(-top, top + 1, size=(rows, cols)).astype(np.int32)
        a = rng.integers(-127, 128, size=(m, cols)).astype(np.int32)
        cases.append({
            "bits": bits, "rows": rows, "cols": cols, "m": m,
            "codes": codes.flatten().tolist(),
            "bytes": pack(codes, bits).flatten().astype(int).tolist(),
            "a": a.flatten().tolist(),
            "product": (a.astype(np.int64) @ codes.T.astype(np.int64)).flatten().tolist(),
        })
    out = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "quant", "packed_codes.json")
    with open(out, "w") as f:
        json.dump({"cases": cases}, f)
    print("wrote", os.path.normpath(out))


if __name__ == "__main__":
    main()
