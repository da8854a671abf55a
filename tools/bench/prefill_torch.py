"""PyTorch peer of `whittle-bench prefill`: one forward of one token sequence through a Hugging Face
Llama folder in float32, transformers' default attention (sdpa), `torch.set_num_threads(THREADS)`,
no KV cache, under `inference_mode`. Mode `all` computes the logits of every position (what
perplexity needs), `last` only the last position's (`logits_to_keep=1`, what a prefill before
generation needs). One untimed warm-up, then RUNS timed forwards.

Prints one JSON line: {"seconds": [per-run seconds], "tokens": T, "mode": ..., "threads": ..., "torch": ...}.
Run: /root/venv/bin/python tools/bench/prefill_torch.py FOLDER IDS_FILE --mode all --runs 2 --threads 2
IDS_FILE holds the token ids, whitespace-separated (the bench writes the same ids it runs).
"""
import argparse, json, time
import torch
from transformers import AutoModelForCausalLM

p = argparse.ArgumentParser()
p.add_argument("folder")
p.add_argument("ids_file")
p.add_argument("--mode", choices=["all", "last"], default="all")
p.add_argument("--runs", type=int, default=2)
p.add_argument("--threads", type=int, default=2)
a = p.parse_args()
torch.set_num_threads(a.threads)

ids = torch.tensor([[int(t) for t in open(a.ids_file).read().split()]])
model = AutoModelForCausalLM.from_pretrained(a.folder, dtype=torch.float32).eval()
keep = 1 if a.mode == "last" else 0   # 0: every position
seconds = []
with torch.inference_mode():
    for run in range(a.runs + 1):
        t0 = time.perf_counter()
        logits = model(input_ids=ids, use_cache=False, logits_to_keep=keep).logits
        if run > 0:
            seconds.append(time.perf_counter() - t0)
assert logits.shape[1] == (1 if a.mode == "last" else ids.shape[1])
print(json.dumps({"seconds": seconds, "tokens": ids.shape[1], "mode": a.mode, "threads": a.threads,
                  "attn": model.config._attn_implementation, "torch": torch.__version__}))
