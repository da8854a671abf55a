#!/usr/bin/env python3
"""Reference numbers for the default model (fixtures/models/shakespeare-llama), from transformers.

Writes fixtures/models/shakespeare-llama/REFERENCE.json with:
  - held-out perplexity on fixtures/data/shakespeare-valid.txt, tokenized without special tokens,
    in non-overlapping windows (seq_len 256, stride 256); each window is passed as input_ids and
    labels, so it predicts its 255 next tokens; perplexity = exp(token-weighted mean NLL over all
    windows); a last partial window shorter than seq_len is dropped. Over the first 16,384 tokens
    (64 windows) and over the whole file;
  - logits [32, vocab] for the prompt of the first 32 token ids of the valid file;
  - a few tokenizer encodings (ids without special tokens) for tokenizer tests.

Run from the repository root:  /root/venv/bin/python tools/reference/shakespeare_reference.py
"""
import json
import math
import os
import platform

import numpy as np
import safetensors
import tokenizers
import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODEL_DIR = os.path.join(REPO, "fixtures", "models", "shakespeare-llama")
VALID = os.path.join(REPO, "fixtures", "data", "shakespeare-valid.txt")
SEQ_LEN = 256
STRIDE = 256
SUBSET_TOKENS = 16384
PROMPT_TOKENS = 32
BATCH = 16
ENCODE_EXAMPLES = ["", "ROMEO:", "O Romeo, Romeo! wherefore art thou Romeo?",
                   "  two  spaces\nand\ttab", "caf\u00e9 na\u00efve \u2014 <|endoftext|> end"]


def f32(x):
    """The shortest decimal that reads back as the same float32."""
    return float(np.format_float_positional(np.float32(x), unique=True, trim="-"))


def compact_json(value, indent=0):
    """Indented JSON with lists of scalars kept on one line."""
    pad, inner = "  " * indent, "  " * (indent + 1)
    if isinstance(value, dict):
        items = [f"{inner}{json.dumps(k)}: {compact_json(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        return "[\n" + ",\n".join(inner + compact_json(v, indent + 1) for v in value) + "\n" + pad + "]"
    return json.dumps(value, ensure_ascii=False)


@torch.no_grad()
def windowed_nll(model, ids):
    """Sum of NLL and count of predicted tokens over full non-overlapping windows of `ids`."""
    n_windows = (len(ids) - SEQ_LEN) // STRIDE + 1 if len(ids) >= SEQ_LEN else 0
    total, count, per_window = 0.0, 0, []
    for b in range(0, n_windows, BATCH):
        rows = [ids[w * STRIDE:w * STRIDE + SEQ_LEN] for w in range(b, min(n_windows, b + BATCH))]
        x = torch.tensor(rows, dtype=torch.long)
        out = model(input_ids=x, labels=x)
        logp = torch.log_softmax(out.logits.double()[:, :-1], dim=-1)
        nll = -logp.gather(-1, x[:, 1:, None]).squeeze(-1)          # [B, SEQ_LEN-1]
        # Cross-check against transformers' own shifted loss with labels = input_ids.
        assert abs(out.loss.item() - nll.mean().item()) < 1e-4, (out.loss.item(), nll.mean().item())
        per_window += nll.mean(dim=1).tolist()
        total += nll.sum().item()
        count += nll.numel()
    dropped = len(ids) - (n_windows - 1) * STRIDE - SEQ_LEN if n_windows else len(ids)
    return total, count, n_windows, dropped, per_window


def perplexity_entry(model, ids, label):
    total, count, windows, dropped, per_window = windowed_nll(model, ids)
    mean = total / count
    print(f"{label}: {len(ids)} tokens, {windows} windows, {count} predicted, "
          f"dropped {dropped}, nll {mean:.6f}, ppl {math.exp(mean):.4f}")
    return {"tokens": len(ids), "windows": windows, "predicted_tokens": count,
            "dropped_tail_tokens": dropped, "mean_nll": mean, "perplexity": math.exp(mean),
            "window_mean_nll": [round(v, 6) for v in per_window]}


def main():
    torch.set_num_threads(2)
    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(MODEL_DIR)
    model = AutoModelForCausalLM.from_pretrained(MODEL_DIR, dtype=torch.float32)
    model.eval()

    with open(VALID, encoding="utf-8") as f:
        text = f.read()
    ids = tok(text, add_special_tokens=False)["input_ids"]

    subset = perplexity_entry(model, ids[:SUBSET_TOKENS], f"first {SUBSET_TOKENS}")
    whole = perplexity_entry(model, ids, "whole file")

    prompt = ids[:PROMPT_TOKENS]
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([prompt])).logits[0]
    rows = [[f32(v) for v in row] for row in logits.tolist()]

    record = {
        "generator": "tools/reference/shakespeare_reference.py",
        "model": "fixtures/models/shakespeare-llama",
        "data": "fixtures/data/shakespeare-valid.txt",
        "dtype": "float32",
        "tokenization": "tokenizer.json via AutoTokenizer, add_special_tokens=False (no bos/eos)",
        "window_rule": (f"non-overlapping windows of seq_len {SEQ_LEN} (stride {STRIDE}) starting at "
                        f"token 0; each window is passed as input_ids and labels, so it predicts its "
                        f"{SEQ_LEN - 1} next tokens (the first token of each window is not predicted); "
                        "a last partial window shorter than seq_len is dropped; perplexity = "
                        "exp(token-weighted mean NLL over all windows)"),
        "seq_len": SEQ_LEN,
        "stride": STRIDE,
        "valid_tokens": len(ids),
        "perplexity_first_16384": subset,
        "perplexity_whole_file": whole,
        "prompt_ids": prompt,
        "prompt_text": tok.decode(prompt),
        "prompt_argmax": logits.argmax(-1).tolist(),
        "prompt_logits_shape": list(logits.shape),
        "prompt_logits": "__LOGITS__",
        "encode_examples": [{"text": s, "ids": tok(s, add_special_tokens=False)["input_ids"]}
                            for s in ENCODE_EXAMPLES],
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
                     "safetensors": safetensors.__version__, "numpy": np.__version__},
    }
    body = compact_json(record)
    logits_json = "[\n" + ",\n".join("    " + json.dumps(r) for r in rows) + "\n  ]"
    body = body.replace('"__LOGITS__"', logits_json)
    with open(os.path.join(MODEL_DIR, "REFERENCE.json"), "w", encoding="utf-8") as f:
        f.write(body + "\n")


if __name__ == "__main__":
    main()
