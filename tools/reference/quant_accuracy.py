"""SST-2 dev accuracy of minilm-l6-sst2: fp32 vs our nf4 and int8 outputs, each loaded by stock
transformers (bitsandbytes / compressed-tensors) — the accuracy row of BENCHMARKS.md ## Quantization
until `compress eval` reads quantized checkpoints. Outputs are written first by
`WHITTLE_QUANT_ACCURACY=1 swift test --filter QuantizationAccuracyOutputs` into $TMPDIR/whittle-quant-minilm-{nf4,int8}.
Run: /root/venv/bin/python tools/reference/quant_accuracy.py
"""
import csv, json, os, tempfile
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

MODEL = "/work/shared/models/minilm-l6-sst2"
rows = list(csv.DictReader(open("/work/shared/data/sst2/dev.tsv"), delimiter="\t"))
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
    if os.path.isdir(folder):
        out[kind] = accuracy(folder, torch.float32)   # the F16 norms/embeddings run in float32, like fp32
print(json.dumps(out))
