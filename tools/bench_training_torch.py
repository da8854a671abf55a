"""PyTorch CPU eager peer for `whittle-bench training`: one training step (forward + backward +
AdamW + grad clipping) of the same Llama shape, batch and threads.

Prints one JSON line {"seconds": best step time, "peak_rss_mb": ..., ...}. Random weights.
"""
import argparse, json, resource, time
import torch
from transformers import LlamaConfig, LlamaForCausalLM

p = argparse.ArgumentParser()
for name, default in [("hidden", 512), ("layers", 4), ("heads", 8), ("kv-heads", 8), ("intermediate", 1408),
                      ("vocab", 8000), ("batch", 4), ("seq", 256), ("threads", 2), ("repeats", 3)]:
    p.add_argument("--" + name, type=int, default=default)
p.add_argument("--attn", default="eager")
a = p.parse_args()
torch.set_num_threads(a.threads)
config = LlamaConfig(hidden_size=a.hidden, num_hidden_layers=a.layers, num_attention_heads=a.heads,
                     num_key_value_heads=a.kv_heads, intermediate_size=a.intermediate, vocab_size=a.vocab,
                     max_position_embeddings=2048, tie_word_embeddings=False)
config._attn_implementation = a.attn
model = LlamaForCausalLM(config).train()
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
