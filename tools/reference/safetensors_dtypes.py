#!/usr/bin/env python3
"""Reference conversions from PyTorch for the Tensors dtype tests.

Writes fixtures/safetensors/dtype_reference.safetensors:
  f32_inputs   F32 [N]   float32 inputs: ties, overflow edges, subnormals, ±0, ±inf, NaNs, random
  bf16_torch   BF16 [N]  torch's f32 → bfloat16 (round to nearest even)
  f16_torch    F16 [N]   torch's f32 → float16 (round to nearest even)
  f16_codes    F16 [65536] every float16 bit pattern;  f16_codes_f32 F32: torch's float16 → float32
  e4m3_f32     F32 [256] torch's float8_e4m3fn → float32 for codes 0..255
  e5m2_f32     F32 [256] torch's float8_e5m2  → float32 for codes 0..255
Run: /root/venv/bin/python tools/reference/safetensors_dtypes.py
"""
import os
import numpy as np
import safetensors
import torch
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "safetensors", "dtype_reference.safetensors")


def bits(values):
    return np.array(values, dtype=np.uint32).view(np.float32)


def inputs():
    special = [
        0x00000000, 0x80000000, 0x7F800000, 0xFF800000,          # ±0, ±inf
        0x7FC00000, 0xFFC00000, 0x7FA00001, 0x7F800001,          # NaNs (quiet, negative, signalling payloads)
        0x00000001, 0x807FFFFF, 0x00800000,                      # subnormals, smallest normal
        0x7F7FFFFF, 0xFF7FFFFF, 0x7F7F7FFF, 0x7F7F8000,          # FLT_MAX and bf16 overflow edges
        0x7F7F8001, 0x7F7EFFFF, 0x7F7E8000,
    ]
    # bf16 rounding: lower 16 bits at, below and above the halfway point, with even and odd kept bits
    for upper in (0x3F80, 0x3F81, 0xBF80, 0xBF81, 0x0001, 0x4049, 0x7F00, 0x0080):
        for lower in (0x0000, 0x0001, 0x7FFF, 0x8000, 0x8001, 0xFFFF):
            special.append(upper << 16 | lower)
    # f16 edges: max 65504, overflow at 65520, subnormal range, halfway cases around 1 and 2048
    f16_edges = [65504.0, 65519.996, 65520.0, -65520.0, 6.1035156e-05, 6.0975552e-05, 5.9604645e-08,
                 2.9802322e-08, 2.9802326e-08, 8.940697e-08, 1.0 + 2**-11, 1.0 + 3 * 2**-11, 2049.0, 2051.0, 1e-10]
    rng = np.random.default_rng(20261129)
    random = np.concatenate([
        rng.standard_normal(2048).astype(np.float32),
        (rng.standard_normal(1024) * 1e-6).astype(np.float32),
        (rng.standard_normal(1024) * 3e4).astype(np.float32),
        rng.integers(0, 2**32, 2048, dtype=np.uint64).astype(np.uint32).view(np.float32),  # every exponent
    ])
    return np.concatenate([bits(special), np.array(f16_edges, dtype=np.float32), random])


def main():
    x = torch.from_numpy(inputs())
    codes8 = torch.arange(256, dtype=torch.int32).to(torch.uint8)
    codes16 = torch.arange(65536, dtype=torch.int32).to(torch.int16).view(torch.float16)
    tensors = {
        "f32_inputs": x,
        "bf16_torch": x.to(torch.bfloat16),
        "f16_torch": x.to(torch.float16),
        "f16_codes": codes16,
        "f16_codes_f32": codes16.to(torch.float32),
        "e4m3_f32": codes8.view(torch.float8_e4m3fn).to(torch.float32),
        "e5m2_f32": codes8.view(torch.float8_e5m2).to(torch.float32),
    }
    meta = {"generator": "tools/reference/safetensors_dtypes.py", "torch": torch.__version__,
            "safetensors": safetensors.__version__, "numpy": np.__version__}
    save_file(tensors, OUT, metadata=meta)
    print("wrote", os.path.normpath(OUT), {k: tuple(v.shape) for k, v in tensors.items()})


if __name__ == "__main__":
    main()
