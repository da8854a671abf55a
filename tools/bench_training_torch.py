"""PyTorch CPU eager peer for `whittle-bench training`: one training step (forward + backward +
AdamW + grad clipping) of the same Llama shape, batch and threads.

Prints one JSON line {"seconds": best step time, "peak_rss_mb": ..., ...}. Random weights.
"""
import json, resource, time
import torch
from torch_llama_peer import llama, parse_args

a = parse_args(hidden=512, layers=4, intermediate=1408, vocab=8000, seq=256, repeats=3)
model = llama(a).train()
opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
ids = torch.randint(0, a.vocab, (a.batch, a.seq))


def step():
    opt.zero_grad()
    loss = model(input_ids=ids, labels=ids, use_cache=False).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()


step()
best = float("inf")
for _ in range(a.repeats):
    t0 = time.perf_counter()
    step()
    best = min(best, time.perf_counter() - t0)
print(json.dumps({"seconds": best, "threads": a.threads, "attn": a.attn, "torch": torch.__version__,
                  "tokens_per_s": a.batch * a.seq / best,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
