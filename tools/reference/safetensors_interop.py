#!/usr/bin/env python3
"""Interop fixtures between Python's `safetensors` and Whittle's reader/writer.

  write   Python writes fixtures/safetensors/python_written/*.safetensors (every dtype, odd and
          zero-size shapes, scalars, metadata, an empty file, a metadata-only file) and dumps each
          tensor's dtype, shape, little-endian bytes (hex) and values to python_written.json.
  verify  Loads the files the Swift tests wrote (fixtures/safetensors/swift_written.safetensors and
          the sharded folder swift_written_sharded/) with `safetensors`, checks every tensor is
          bit-equal to the Python-written originals, and records the result in
          fixtures/safetensors/swift_written.verified.json.
Run: /root/venv/bin/python tools/reference/safetensors_interop.py write|verify
"""
import hashlib
import json
import os
import sys

import numpy as np
import safetensors
import torch
from safetensors import safe_open
from safetensors.torch import save_file, load_file

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.normpath(os.path.join(HERE, "..", "..", "fixtures", "safetensors"))
PY_DIR = os.path.join(FIX, "python_written")
VERSIONS = {"generator": "tools/reference/safetensors_interop.py", "torch": torch.__version__,
            "safetensors": safetensors.__version__, "numpy": np.__version__}

DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
    "BOOL": torch.bool, "F8_E4M3": torch.float8_e4m3fn, "F8_E5M2": torch.float8_e5m2,
}
SHAPES = {"odd": [3, 5, 7], "vector": [13], "scalar": [], "empty": [0], "empty_inner": [2, 0, 3]}


def values(dtype, n, seed):
    g = torch.Generator().manual_seed(seed)
    if dtype == torch.bool:
        return torch.rand(n, generator=g) > 0.5
    if dtype.is_floating_point:
        x = torch.randn(n, generator=g, dtype=torch.float64) * 3
        return x.to(torch.float32).to(dtype)
    info = torch.iinfo(dtype)
    lo, hi = max(info.min, -2**40), min(info.max, 2**40)
    x = torch.randint(lo, hi, (n,), generator=g, dtype=torch.int64)
    if n >= 2:
        x[0], x[1] = info.min, info.max   # extremes round-trip too
    return x.to(dtype)


def all_dtypes():
    tensors, seed = {}, 0
    for dname, dtype in DTYPES.items():
        for sname, shape in SHAPES.items():
            n = int(np.prod(shape)) if shape else 1
            seed += 1
            tensors[f"{dname.lower()}.{sname}"] = values(dtype, n, seed).reshape(shape)
    return tensors


def dump(t):
    raw = t.contiguous().view(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
    return {"dtype": [k for k, v in DTYPES.items() if v == t.dtype][0], "shape": list(t.shape),
            "hex": raw.hex(), "values": [float(v) for v in t.reshape(-1).to(torch.float64).tolist()]}


def write():
    os.makedirs(PY_DIR, exist_ok=True)
    files = {
        "all_dtypes.safetensors": (all_dtypes(), {**VERSIONS, "note": "every dtype × odd/scalar/zero-size shapes"}),
        "empty.safetensors": ({}, None),
        "metadata_only.safetensors": ({}, {**VERSIONS, "format": "pt", "unicode": "café ✓ \"quoted\"\n"}),
        "zero_size.safetensors": ({"a": torch.zeros(0), "b": torch.zeros(4, 0, dtype=torch.float16),
                                   "c": torch.ones(2, dtype=torch.int8)}, {"format": "pt"}),
    }
    dumped = {"meta": VERSIONS, "files": {}}
    for name, (tensors, meta) in files.items():
        save_file(tensors, os.path.join(PY_DIR, name), metadata=meta)
        dumped["files"][name] = {"metadata": meta or {}, "tensors": {k: dump(v) for k, v in tensors.items()}}
    with open(os.path.join(FIX, "python_written.json"), "w") as f:
        json.dump(dumped, f, indent=1, sort_keys=True)
    print("wrote", PY_DIR, "and python_written.json")


def same(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and torch.equal(a.view(-1).view(torch.uint8), b.view(-1).view(torch.uint8)) \
        if a.numel() else a.dtype == b.dtype and a.shape == b.shape


def verify():
    original = load_file(os.path.join(PY_DIR, "all_dtypes.safetensors"))
    path = os.path.join(FIX, "swift_written.safetensors")
    loaded = load_file(path)
    with safe_open(path, "pt") as f:
        metadata = f.metadata()
    problems = [k for k in original if k not in loaded or not same(loaded[k], original[k])]
    problems += [k for k in loaded if k not in original]
    shard_dir = os.path.join(FIX, "swift_written_sharded")
    with open(os.path.join(shard_dir, "model.safetensors.index.json")) as f:
        index = json.load(f)
    sharded, total = {}, 0
    for shard in sorted(set(index["weight_map"].values())):
        part = load_file(os.path.join(shard_dir, shard))
        total += sum(t.numel() * t.element_size() for t in part.values())
        for k, v in part.items():
            if index["weight_map"].get(k) != shard:
                problems.append(f"{shard}:{k} not mapped")
            sharded[k] = v
    problems += [f"sharded:{k}" for k in original if k not in sharded or not same(sharded[k], original[k])]
    if index["metadata"]["total_size"] != total:
        problems.append(f"total_size {index['metadata']['total_size']} != {total}")
    digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
    result = {"meta": VERSIONS, "file": "swift_written.safetensors", "sha256": digest,
              "bytes": os.path.getsize(path), "tensors": len(loaded), "metadata": metadata,
              "sharded_files": sorted(set(index["weight_map"].values())), "sharded_total_size": total,
              "sharded_sha256": {name: hashlib.sha256(open(os.path.join(shard_dir, name), "rb").read()).hexdigest()
                                 for name in sorted(os.listdir(shard_dir))},
              "result": "ok: loaded by safetensors.torch.load_file, every tensor bit-equal to python_written/all_dtypes.safetensors"
              if not problems else f"FAILED: {problems}"}
    with open(os.path.join(FIX, "swift_written.verified.json"), "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
    print(result["result"])
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(write() or 0 if sys.argv[1:] == ["write"] else verify() if sys.argv[1:] == ["verify"] else print(__doc__) or 2)
