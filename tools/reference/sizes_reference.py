"""Sizes of committed checkpoints measured outside our code (issue 19): bytes of the weight files
(os.path.getsize), bytes after zlib deflate at level 6 (Python's zlib, the whole file as one stream),
and parameters as trained (safetensors: every tensor's numel, except bitsandbytes' side tensors; a
bitsandbytes 4-bit weight counts the elements of the shape recorded in its quant_state).

Writes fixtures/eval/sizes_reference.json.
Run: /root/venv/bin/python tools/reference/sizes_reference.py
"""
import json, os, zlib
import safetensors
from safetensors import safe_open

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "../.."))
CHECKPOINTS = ["models/stories260K", "quant/stories260K-bnb-nf4", "pruning/stories260K-finercut4-zeroed"]
SIDE = (".absmax", ".quant_map", ".nested_absmax", ".nested_quant_map")


def measure(folder):
    path = os.path.join(ROOT, "fixtures", folder, "model.safetensors")
    data = open(path, "rb").read()
    params = 0
    with safe_open(path, "np") as f:
        keys = list(f.keys())
        for k in keys:
            if k.endswith(SIDE) or ".quant_state." in k:
                continue
            state = [s for s in keys if s.startswith(k + ".quant_state.bitsandbytes__")]
            if state:
                shape = json.loads(bytes(f.get_tensor(state[0])).decode())["shape"]
            else:
                shape = f.get_slice(k).get_shape()
            n = 1
            for d in shape:
                n *= d
            params += n
    return {"bytes": os.path.getsize(path), "deflated_bytes": len(zlib.compress(data, 6)), "parameters": params}


out = {"meta": {"generator": "tools/reference/sizes_reference.py", "zlib": zlib.ZLIB_RUNTIME_VERSION,
                "safetensors": safetensors.__version__},
       "checkpoints": {c: measure(c) for c in CHECKPOINTS}}
with open(os.path.join(ROOT, "fixtures/eval/sizes_reference.json"), "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
print(out["checkpoints"])
