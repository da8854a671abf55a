"""NF4 reference fixtures from bitsandbytes on CPU (ALGORITHMS.md §5).

Writes fixtures/quant/nf4_reference.safetensors: for each case, the input tensor (its own dtype),
bitsandbytes' packed bytes, absmax, double-quantized absmax (uint8 codes, nested absmax, offset) and
the dequantized values of both paths; plus the NF4 and DYNAMIC8 tables bitsandbytes uses.
Run: /root/venv/bin/python tools/reference/quant_reference.py
"""
import json, os, sys
import numpy as np
import torch
import bitsandbytes as bnb
import bitsandbytes.functional as F
from bitsandbytes.backends.default.ops import _dequantize_4bit_compute
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "quant", "nf4_reference.safetensors")


def cases():
    g = torch.Generator().manual_seed(8)
    n = lambda *s: torch.randn(*s, generator=g)
    zero_block = n(4, 96); zero_block.view(-1)[:64] = 0          # first 64-block all zero
    outliers = n(33, 65); outliers.view(-1)[[5, 700, 1500]] = torch.tensor([80.0, -120.0, 55.0])
    tail_zero = n(2, 70); tail_zero.view(-1)[128:] = 0           # the short last block is all zero
    return [
        ("odd_f32", n(7, 13), 64),                  # 91 values: odd length, short last block
        ("zero_block_f32", zero_block, 64),
        ("tail_zero_f32", tail_zero, 64),
        ("outliers_f32_b32", outliers, 32),
        ("f16_b128", n(17, 31).half(), 128),
        ("bf16_b64", n(64, 72).bfloat16(), 64),
        ("many_blocks_f32", n(128, 300) * 0.02, 64),   # 600 blocks → 3 nested blocks (short last)
        ("b4096_f32", n(3, 5001), 4096),
        ("worked_example", torch.tensor([0.5, -1.0, 0.03, 0.04, 2.0, -0.3, 0.0, 1.2]), 32),
    ]


def main():
    tensors, meta_cases = {}, {}
    for name, a, block in cases():
        packed, st = F.quantize_4bit(a, blocksize=block, compress_statistics=False, quant_type="nf4")
        # Dequantize with bitsandbytes' reference backend: its native CPU 4-bit kernel mis-assigns
        # blocks when a row is not a whole number of blocks (counted in meta as native_dequant_mismatches).
        deq = _dequantize_4bit_compute(packed.reshape(-1), st.absmax, st.code, block, a.shape, a.dtype)
        native = F.dequantize_4bit(packed, st, quant_type="nf4")
        packed2, st2 = F.quantize_4bit(a, blocksize=block, compress_statistics=True, quant_type="nf4")
        assert torch.equal(packed, packed2)
        absmax2 = F.dequantize_blockwise(st2.absmax, st2.state2) + st2.offset
        deq2 = _dequantize_4bit_compute(packed2.reshape(-1), absmax2, st2.code, block, a.shape, a.dtype)
        tensors[f"{name}.input"] = a.contiguous()
        tensors[f"{name}.packed"] = packed.contiguous()
        tensors[f"{name}.absmax"] = st.absmax.contiguous()
        tensors[f"{name}.dequant"] = deq.contiguous()
        tensors[f"{name}.dq.absmax_q8"] = st2.absmax.contiguous()
        tensors[f"{name}.dq.nested_absmax"] = st2.state2.absmax.contiguous()
        tensors[f"{name}.dq.offset"] = st2.offset.reshape(1).float().contiguous()
        tensors[f"{name}.dq.dequant"] = deq2.contiguous()
        tensors[f"{name}.dq.absmax_dequant"] = absmax2.contiguous()
        meta_cases[name] = {"block_size": block, "dtype": str(a.dtype), "packed_shape": list(packed.shape),
                            "native_dequant_mismatches": int((native != deq).sum())}
    # The 8-bit dynamic quantizer alone on values in [-1, 1] (absmax 1 per 256-block): bitsandbytes'
    # CPU kernel vs the exact nearest entry (ties lower) — recorded, since they differ on ~0.1 %.
    code = F.create_dynamic_map(signed=True)
    g = torch.Generator().manual_seed(5)
    v = (torch.rand(256 * 64, generator=g) * 2 - 1).view(-1, 256); v[:, 0] = 1.0; v = v.reshape(-1)
    q8, _ = F.quantize_blockwise(v, code=code.clone(), blocksize=256)
    nearest = torch.argmin((v[:, None] - code[None, :]).abs(), dim=1)   # argmin keeps the first (lower) on ties
    tensors["dynamic8.input"] = v.contiguous()
    tensors["dynamic8.bnb_codes"] = q8.contiguous()
    meta_dynamic8 = {"values": v.numel(), "bnb_not_nearest": int((nearest != q8.long()).sum())}
    tensors["table.nf4"] = F.get_4bit_type("nf4", device="cpu").float().contiguous()
    tensors["table.dynamic8"] = F.create_dynamic_map(signed=True).float().contiguous()
    meta = {"generator": "tools/reference/quant_reference.py", "bitsandbytes": bnb.__version__,
            "torch": torch.__version__, "numpy": np.__version__, "cases": meta_cases,
            "dynamic8": meta_dynamic8}
    save_file(tensors, OUT, metadata={"meta": json.dumps(meta)})
    print("wrote", OUT, sum(t.numel() * t.element_size() for t in tensors.values()), "bytes")


if __name__ == "__main__":
    main()
