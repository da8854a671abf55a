"""Peer for the quantization bench: bitsandbytes' CPU quantize_4bit (NF4, block 64, double quant)
on the same tensors whittle-bench quantizes (2-D weights inside `layers.N.`, no norms/embeddings).
Prints one JSON line: {"tensors", "bytes" (input bytes), "seconds"}.
Usage: /root/venv/bin/python tools/quant_bench_bnb.py CHECKPOINT/model.safetensors
"""
import json, sys, time
import torch
import bitsandbytes.functional as F
from safetensors import safe_open

path = sys.argv[1]
total_bytes, seconds, count = 0, 0.0, 0
with safe_open(path, "pt") as f:
    for name in f.keys():
        if ".layers." not in name or not name.endswith(".weight") or "norm" in name:
            continue
        t = f.get_tensor(name)
        if t.dim() != 2:
            continue
        t0 = time.perf_counter()
        F.quantize_4bit(t, blocksize=64, compress_statistics=True, quant_type="nf4")
        seconds += time.perf_counter() - t0
        total_bytes += t.numel() * t.element_size()
        count += 1
        del t
print(json.dumps({"tensors": count, "bytes": total_bytes, "seconds": seconds, "torch_threads": torch.get_num_threads()}))
