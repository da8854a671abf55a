"""SST-2 dev accuracy of minilm-l6-sst2: fp32 vs our nf4 and int8 outputs, each loaded by stock
transformers (bitsandbytes / compressed-tensors) — the accuracy row of BENCHMARKS.md ## Quantization
until `compress eval` reads quantized checkpoints. The outputs are written by the built CLI
(`.build/release/compress run`, recipes generated here: nf4 block 64 with double quant, int8 W8A8
dynamic) into $TMPDIR/whittle-quant-minilm-{nf4,int8}, unless those folders exist already.
Needs ../shared (minilm-l6-sst2, SST-2 dev) and `swift build -c release --product compress`.
Run: /root/venv/bin/python tools/reference/quant_accuracy.py
"""
import csv, json, os, subprocess, tempfile
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "../.."))
SHARED = os.path.normpath(os.path.join(ROOT, "..", "shared"))
MODEL = os.path.join(SHARED, "models/minilm-l6-sst2")
rows = list(csv.DictReader(open(os.path.join(SHARED, "data/sst2/dev.tsv")), delimiter="\t"))
PASSES = {"nf4": {"pass": "nf4", "block_size": 64, "double_quant": True}, "int8": {"pass": "int8", "scheme": "dynamic"}}


def write_output(kind, folder):
    """Our pass's output, written by the compress CLI (no evaluation: accuracy is measured below)."""
    recipe = os.path.join(tempfile.gettempdir(), f"whittle-quant-minilm-{kind}.json")
    with open(recipe, "w") as f:
        json.dump({"version": 1, "model": MODEL, "output": folder, "evaluation": [], "passes": [PASSES[kind]]}, f)
    subprocess.run([os.path.join(ROOT, ".build/release/compress"), "run", "--recipe", recipe, "--force", "--quiet"], check=True)
tok = AutoTokenizer.from_pretrained(MODEL)


def accuracy(path, dtype=None):
    m = AutoModelForSequenceClassification.from_pretrained(path, **({"dtype": dtype} if dtype else {})).eval()
    for mod in m.modules():
        if hasattr(mod, "support_avx512bf16_for_cpu"):
            mod.support_avx512bf16_for_cpu = False
        # modules kept in full precision stay F16 as stored; run them in float32 like the fp32 baseline
        if type(mod) in (torch.nn.LayerNorm, torch.nn.Embedding, torch.nn.Linear):
            mod.float()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(rows), 64):
            batch = rows[i:i + 64]
            enc = tok([r["text"] for r in batch], padding=True, truncation=True,
                      max_length=64, return_tensors="pt")
            pred = m(**enc).logits.argmax(-1)
            correct += sum(int(p) == int(r["label"]) for p, r in zip(pred, batch))
    return correct / len(rows)


out = {"fp32": accuracy(MODEL, torch.float32)}
print(out, flush=True)
for kind in ["nf4", "int8"]:
    folder = os.path.join(tempfile.gettempdir(), f"whittle-quant-minilm-{kind}")
    if not os.path.isdir(folder):
        write_output(kind, folder)
    out[kind] = accuracy(folder, torch.float32)   # the F16 norms/embeddings run in float32, like fp32
print(json.dumps(out))
