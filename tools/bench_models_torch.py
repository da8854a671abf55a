"""PyTorch CPU eager peer for `whittle-bench models`: the same Llama shape, threads and batch.

Prints one JSON line {"seconds": best forward time, ...}. Random weights (speed does not depend on them).
"""
import argparse, json, time
import torch
from transformers import LlamaConfig, LlamaForCausalLM

p = argparse.ArgumentParser()
for name, default in [("hidden", 1024), ("layers", 8), ("heads", 8), ("kv-heads", 8), ("intermediate", 2816),
                      ("vocab", 32000), ("batch", 4), ("seq", 512), ("threads", 2), ("repeats", 2)]:
    p.add_argument("--" + name, type=int, default=default)
p.add_argument("--attn", default="eager")
a = p.parse_args()
torch.set_num_threads(a.threads)
config = LlamaConfig(hidden_size=a.hidden, num_hidden_layers=a.layers, num_attention_heads=a.heads,
                     num_key_value_heads=a.kv_heads, intermediate_size=a.intermediate, vocab_size=a.vocab,
                     max_position_embeddings=2048, tie_word_embeddings=False)
config._attn_implementation = a.attn
model = LlamaForCausalLM(config).eval()
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
