#!/usr/bin/env python3
"""What `compress inspect` must report for the real checkpoints in ../shared/models, from Python's
`safetensors`: per model the tensor names, dtypes, shapes, byte totals by dtype, parameter count,
metadata, and a float64 sum of each of the first three tensors (to check the values read).
Writes fixtures/safetensors/shared_models_reference.json.
Run: /root/venv/bin/python tools/reference/safetensors_shared_models.py
"""
import json
import os

import safetensors
import torch
from safetensors import safe_open

ROOT = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.normpath(os.path.join(ROOT, "..", "..", "..", "shared", "models"))
OUT = os.path.normpath(os.path.join(ROOT, "..", "..", "fixtures", "safetensors", "shared_models_reference.json"))
NAMES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}


def main():
    models = {}
    for model in ["stories260K", "minilm-l6-sst2"]:
        with safe_open(os.path.join(SHARED, model, "model.safetensors"), "pt") as f:
            tensors = {k: f.get_tensor(k) for k in f.keys()}
            metadata = f.metadata() or {}
        totals = {}
        for t in tensors.values():
            d = totals.setdefault(NAMES[t.dtype], {"tensors": 0, "parameters": 0, "bytes": 0})
            d["tensors"] += 1; d["parameters"] += t.numel(); d["bytes"] += t.numel() * t.element_size()
        first = sorted(tensors)[:3]
        models[model] = {
            "tensors": {k: {"dtype": NAMES[t.dtype], "shape": list(t.shape)} for k, t in tensors.items()},
            "totals": totals, "parameters": sum(t.numel() for t in tensors.values()), "metadata": metadata,
            "sums": {k: float(tensors[k].double().sum()) for k in first},
        }
    meta = {"generator": "tools/reference/safetensors_shared_models.py", "torch": torch.__version__, "safetensors": safetensors.__version__}
    with open(OUT, "w") as f:
        json.dump({"meta": meta, "models": models}, f, indent=1, sort_keys=True)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
