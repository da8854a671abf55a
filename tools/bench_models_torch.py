"""PyTorch CPU eager peer for `whittle-bench models`: the same Llama shape, threads and batch.

Prints one JSON line {"seconds": best forward time, ...}. Random weights (speed does not depend on them).
"""
import json, time
import torch
from torch_llama_peer import llama, parse_args

a = parse_args(hidden=1024, layers=8, intermediate=2816, vocab=32000, seq=512, repeats=2)
model = llama(a).eval()
ids = torch.randint(0, a.vocab, (a.batch, a.seq))
with torch.inference_mode():
    model(input_ids=ids, use_cache=False)
    best = float("inf")
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        model(input_ids=ids, use_cache=False)
        best = min(best, time.perf_counter() - t0)
print(json.dumps({"seconds": best, "threads": a.threads, "attn": a.attn, "torch": torch.__version__,
                  "tokens_per_s": a.batch * a.seq / best}))
