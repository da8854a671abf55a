"""Sizes of committed checkpoints measured outside our code (issue 19): bytes of the weight files
(os.path.getsize), bytes after zlib deflate at level 6 (Python's zlib, the whole file as one stream),
and parameters as trained (safetensors: every tensor's numel, except bitsandbytes' side tensors; a
bitsandbytes 4-bit weight counts the elements of the shape recorded in its quant_state).

Also what still computes in pruned checkpoints (issue 19), from config.json and the tensor shapes:
parameters = stored − linear weights and biases of skipped sublayers (`whittle.skipped_sublayers`) and of
zeroed units (`whittle.pruned_heads` / `pruned_neurons` in the zeroed layout: a head's query rows and
bias and output-projection columns; a neuron's gate/up rows and biases and down-projection column);
MACs per token at sequence length 128 = weights of the running linears (minus the zeroed units) +
2·128·heads_running·head_dim + the head (hidden·vocab for a language model; (hidden² + hidden·labels)/128
for a BERT classifier's pooler and classifier).

Writes fixtures/eval/sizes_reference.json.
Run: /root/venv/bin/python tools/reference/sizes_reference.py
"""
import json, os, zlib
import safetensors
from safetensors import safe_open

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "../.."))
CHECKPOINTS = ["models/stories260K", "quant/stories260K-bnb-nf4", "pruning/stories260K-finercut4-zeroed",
               "models-reference/bert_classifier", "pruning/bert-optin50-zeroed"]
SIDE = (".absmax", ".quant_map", ".nested_absmax", ".nested_quant_map")


LINEARS = {"llama": ({"attention": ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj"],
                       "mlp": ["mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]}, "model.layers.{}."),
           "bert": ({"attention": ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"],
                     "mlp": ["intermediate.dense", "output.dense"]}, "bert.encoder.layer.{}.")}


def computing(folder, stored, seq=128):
    path = os.path.join(ROOT, "fixtures", folder)
    cfg = json.load(open(os.path.join(path, "config.json")))
    w = cfg.get("whittle", {})
    names, prefix = LINEARS[cfg["model_type"]]
    c, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    hd = cfg.get("head_dim") or c // heads
    skipped = {(s["layer"], s["kind"]) for s in w.get("skipped_sublayers", [])}
    zeroed = w.get("layout") == "zeroed"
    removed, macs = 0, 0.0
    with safe_open(os.path.join(path, "model.safetensors"), "np") as f:
        keys = set(f.keys())
        def shape(k):   # a bitsandbytes 4-bit weight: the shape recorded in its quant_state
            state = [s for s in keys if s.startswith(k + ".quant_state.bitsandbytes__")]
            return json.loads(bytes(f.get_tensor(state[0])).decode())["shape"] if state else f.get_slice(k).get_shape()
        for i in range(cfg["num_hidden_layers"]):
            for kind, mods in names.items():
                ws = [shape(prefix.format(i) + m + ".weight") for m in mods]
                bs = [prefix.format(i) + m + ".bias" in keys for m in mods]
                if (i, kind) in skipped:
                    removed += sum(a * b for a, b in ws) + sum(ws[j][0] for j in range(len(mods)) if bs[j])
                    continue
                if kind == "attention":
                    m = len(w.get("pruned_heads", {}).get(str(i), [])) if zeroed else 0
                    removed += m * (hd * c + (hd if bs[0] else 0) + hd * c)
                    macs += sum(a * b for a, b in ws) - m * 2 * hd * c + 2 * seq * (heads - m) * hd
                else:
                    n = len(w.get("pruned_neurons", {}).get(str(i), [])) if zeroed else 0
                    inputs = len(mods) - 1
                    removed += n * (inputs * (c + (1 if bs[0] else 0)) + c)
                    macs += sum(a * b for a, b in ws) - n * (inputs + 1) * c
    macs += c * cfg["vocab_size"] if cfg["model_type"] == "llama" else (c * c + c * len(cfg.get("id2label", {0: 0, 1: 1}))) / seq
    return {"computing_parameters": stored - removed, "macs_per_token": macs}


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
    return {"bytes": os.path.getsize(path), "deflated_bytes": len(zlib.compress(data, 6)), "parameters": params,
            **computing(folder, params)}


out = {"meta": {"generator": "tools/reference/sizes_reference.py", "zlib": zlib.ZLIB_RUNTIME_VERSION,
                "safetensors": safetensors.__version__},
       "checkpoints": {c: measure(c) for c in CHECKPOINTS}}
with open(os.path.join(ROOT, "fixtures/eval/sizes_reference.json"), "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
print(out["checkpoints"])
