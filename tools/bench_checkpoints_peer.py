"""Peer for `whittle-bench checkpoints`: read a safetensors file, convert every float tensor to
float32, write it back, with the libraries people use (safetensors + torch). Prints the best of 3.
    python tools/bench_checkpoints_peer.py SOURCE DEST"""
import os
import sys
import time

import torch
from safetensors.torch import load_file, save_file

source, dest = sys.argv[1], sys.argv[2]
best = float("inf")
for _ in range(3):
    start = time.perf_counter()
    tensors = {k: (v.float() if v.is_floating_point() else v) for k, v in load_file(source).items()}
    save_file(tensors, dest, metadata={"format": "pt"})
    with open(dest, "rb+") as f:   # same durability as our writer
        os.fsync(f.fileno())
    best = min(best, time.perf_counter() - start)
    del tensors
    os.remove(dest)
print(f"seconds {best:.4f}")
