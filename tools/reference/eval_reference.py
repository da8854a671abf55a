"""Reference values for the Evaluation module (issue 4), computed with PyTorch + transformers.

Writes into fixtures/eval/:
  stories260k_samples.tokens   token_ids file: 4 sequences of 256 ids sampled from stories260K (BOS=1 first)
  stories260k_perplexity.json  perplexity of those ids (concatenated into one stream) for several windowings
  sst2_minilm_reference.json   minilm-l6-sst2 predictions on the full SST-2 dev set (one sentence at a time)
  metrics_reference.json       accuracy / F1 / MCC / Pearson / Spearman / KL / kurtosis / inf-norm on fixed data

Run: /root/venv/bin/python tools/reference/eval_reference.py [--shared ../shared]
"""
import argparse, csv, json, math, os, sys
import numpy as np
import torch
import transformers, tokenizers, safetensors

p = argparse.ArgumentParser()
p.add_argument("--shared", default=os.path.join(os.path.dirname(__file__), "../../../shared"))
args = p.parse_args()
root = os.path.normpath(os.path.join(os.path.dirname(__file__), "../.."))
out = os.path.join(root, "fixtures/eval")
os.makedirs(out, exist_ok=True)
meta = {"generator": "tools/reference/eval_reference.py", "torch": torch.__version__,
        "transformers": transformers.__version__, "tokenizers": tokenizers.__version__, "numpy": np.__version__}
torch.set_grad_enabled(False)

def dump(name, obj):
    with open(os.path.join(out, name), "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")

# ---- stories260K: sampled token ids and sliding-window perplexity -------------------------------
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer
lm = AutoModelForCausalLM.from_pretrained(os.path.join(args.shared, "models/stories260K"), dtype=torch.float32).eval()
torch.manual_seed(0)
seqs = []
for _ in range(4):
    ids = [1]
    while len(ids) < 256:   # plain ancestral sampling at temperature 1, no cache (the model is tiny)
        logits = lm(torch.tensor([ids])).logits[0, -1]
        ids.append(int(torch.multinomial(torch.softmax(logits.double(), -1), 1)))
    seqs.append(ids)
with open(os.path.join(out, "stories260k_samples.tokens"), "w") as f:
    for s in seqs:
        f.write(" ".join(map(str, s)) + "\n")

def perplexity(stream, seq_len, stride):
    """The transformers sliding-window recipe (docs: perplexity of fixed-length models), summing the
    exact per-token NLL: each window is passed as `labels`, with the already-scored prefix set to -100."""
    nll, count, prev_end, windows = 0.0, 0, 0, []
    n = len(stream)
    for begin in range(0, n, stride):
        end = min(begin + seq_len, n)
        trg = end - prev_end
        ids = torch.tensor([stream[begin:end]])
        labels = ids.clone()
        labels[:, :-trg] = -100
        valid = int((labels[:, 1:] != -100).sum())
        if valid > 0:
            loss = float(lm(ids, labels=labels).loss)
            nll += loss * valid
            count += valid
            windows.append({"begin": begin, "end": end, "predicted": valid, "mean_nll": loss})
        prev_end = end
        if end == n:
            break
    return {"nll_sum": nll, "count": count, "perplexity": math.exp(nll / count), "windows": windows}

stream = [t for s in seqs for t in s]
cases = []
for seq_len, stride, max_tokens in [(128, 128, None), (256, 256, 1000), (128, 64, None), (100, 30, 700)]:
    toks = stream if max_tokens is None else stream[:max_tokens]
    r = perplexity(toks, seq_len, stride)
    r.update({"seq_len": seq_len, "stride": stride, "max_tokens": max_tokens})
    cases.append(r)
dump("stories260k_perplexity.json", {"meta": {**meta, "model": "shared/models/stories260K",
      "data": "fixtures/eval/stories260k_samples.tokens (lines concatenated into one stream)",
      "sampling": "torch.manual_seed(0); 4 x 256 ids from BOS by torch.multinomial(softmax(logits))"},
      "cases": cases})

# ---- minilm-l6-sst2 on SST-2 dev ------------------------------------------------------------------
mdir = os.path.join(args.shared, "models/minilm-l6-sst2")
tok = AutoTokenizer.from_pretrained(mdir)
clf = AutoModelForSequenceClassification.from_pretrained(mdir, dtype=torch.float32).eval()
rows = list(csv.reader(open(os.path.join(args.shared, "data/sst2/dev.tsv"), newline=""), delimiter="\t",
                       quoting=csv.QUOTE_NONE))
header, rows = rows[0], rows[1:]
preds, labels, logits = [], [], []
for text, label in rows:
    enc = tok(text, return_tensors="pt")   # [CLS] text [SEP], no padding
    lg = clf(**enc).logits[0]
    preds.append(int(lg.argmax()))
    labels.append(int(label))
    logits.append([float(x) for x in lg])
correct = sum(int(a == b) for a, b in zip(preds, labels))
dump("sst2_minilm_reference.json", {"meta": {**meta, "model": "shared/models/minilm-l6-sst2",
      "data": "shared/data/sst2/dev.tsv", "tokenization": "tokenizer(text) one sentence at a time, no padding"},
      "count": len(rows), "correct": correct, "accuracy": correct / len(rows),
      "predictions": preds, "first_logits": logits[:16],
      "first_ids": [tok(t)["input_ids"] for t, _ in rows[:8]]})

# ---- pure metrics on fixed data (numpy/torch formulas, independent of the Swift code) ------------
rng = np.random.default_rng(0)
y = rng.integers(0, 2, 200); yhat = np.where(rng.random(200) < 0.8, y, 1 - y)
tp = int(((yhat == 1) & (y == 1)).sum()); tn = int(((yhat == 0) & (y == 0)).sum())
fp = int(((yhat == 1) & (y == 0)).sum()); fn = int(((yhat == 0) & (y == 1)).sum())
f1 = 2 * tp / (2 * tp + fp + fn)
mcc = (tp * tn - fp * fn) / math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
x = rng.normal(size=100); z = 0.6 * x + 0.8 * rng.normal(size=100)
z_ties = np.round(z * 2) / 2   # ties for Spearman's average ranks
def ranks(a):
    order = np.argsort(a, kind="stable"); r = np.empty(len(a)); i = 0
    while i < len(a):
        j = i
        while j + 1 < len(a) and a[order[j + 1]] == a[order[i]]: j += 1
        r[order[i:j + 1]] = (i + j) / 2 + 1; i = j + 1
    return r
pearson = float(np.corrcoef(x, z)[0, 1])
spearman = float(np.corrcoef(ranks(x), ranks(z_ties))[0, 1])
p_logits = torch.tensor(rng.normal(size=(6, 32)) * 3, dtype=torch.float64)
q_logits = p_logits + torch.tensor(rng.normal(size=(6, 32)) * 0.5, dtype=torch.float64)
# KL(P_original || Q_compressed) per position, averaged: torch.kl_div(input=log q, target=log p, log_target)
kl = torch.nn.functional.kl_div(torch.log_softmax(q_logits, -1), torch.log_softmax(p_logits, -1),
                                reduction="batchmean", log_target=True)
acts = torch.tensor(rng.standard_t(4, size=(3, 2, 50)), dtype=torch.float64)   # (B, T, d), heavy tailed
flat = acts.reshape(3, -1)
# Quantizable Transformers (ALGORITHMS.md §3.4): per sample mean((x-mu)^4)/(std^4+1e-6), unbiased std
kurt = ((flat - flat.mean(1, keepdim=True)) ** 4).mean(1) / (flat.std(1) ** 4 + 1e-6)
infn = flat.abs().max(1).values
dump("metrics_reference.json", {"meta": {**meta, "rng": "numpy default_rng(0)"},
      "classification": {"labels": y.tolist(), "predictions": yhat.tolist(), "accuracy": float((y == yhat).mean()),
                         "f1": f1, "mcc": mcc, "tp": tp, "tn": tn, "fp": fp, "fn": fn},
      "correlation": {"x": x.tolist(), "y": z.tolist(), "pearson": pearson, "y_ties": z_ties.tolist(), "spearman_x_yties": spearman},
      "kl": {"original_logits": p_logits.tolist(), "compressed_logits": q_logits.tolist(), "mean_kl": float(kl)},
      "outliers": {"activations": acts.tolist(), "kurtosis_per_sample": kurt.tolist(), "mean_kurtosis": float(kurt.mean()),
                   "inf_norm_per_sample": infn.tolist(), "mean_inf_norm": float(infn.mean())}})
print("wrote", out, "sst2 accuracy", correct / len(rows), "ppl", [round(c["perplexity"], 4) for c in cases])
